package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidScope is wrapped by every error this package returns: a scope-token was empty or held a byte
// RFC 6749 §3.3 does not allow. Test for it with errors.Is.
var ErrInvalidScope = errors.New("scopes: invalid scope token")

// tokenByte reports which bytes may appear in a scope-token: %x21 / %x23-5B / %x5D-7E.
var tokenByte = func() (t [256]bool) {
	for c := 0x21; c <= 0x7E; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// validToken returns -1 if tok is a valid scope-token, otherwise the offset of the first byte that is not
// allowed (0 for the empty string).
func validToken(tok string) int {
	if tok == "" {
		return 0
	}
	for i := 0; i < len(tok); i++ {
		if !tokenByte[tok[i]] {
			return i
		}
	}
	return -1
}

// Set is an ordered list of distinct scope tokens as granted by a token, in order of first appearance.
//
// Sets built by [Parse] and [FromList] hold only valid, distinct tokens, and so does the [Set.Union] of
// two such Sets. A Set written as a literal is taken as it is; its methods never panic on it. The nil Set
// grants nothing.
type Set []string

// Parse parses a space-delimited scope claim value (RFC 6749 §3.3), such as the `scope` claim of an
// access token or a string-valued `scp`.
//
// Tokens are separated by one or more spaces (0x20); leading, trailing and repeated spaces are accepted.
// Each token must be a scope-token: printable ASCII other than space, '"' and '\'. Any other byte (tab,
// newline, quote, backslash, control byte, non-ASCII) fails the whole value with an error that wraps
// [ErrInvalidScope] and gives the byte offset, never the input. Fail closed: on error the token grants
// no scopes. Duplicate tokens are dropped. An empty or all-space value yields a nil Set and no error.
//
// The members of the Set are substrings of s. On success with up to 16 distinct tokens Parse allocates one
// slice and nothing else; past that, a map removes duplicates in linear time.
func Parse(s string) (Set, error) {
	// First pass: validate and count, so that the Set is allocated once at its final capacity.
	n := 0
	inToken := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			inToken = false
			continue
		}
		if !tokenByte[c] {
			return nil, fmt.Errorf("%w at byte offset %d", ErrInvalidScope, i)
		}
		if !inToken {
			n++
			inToken = true
		}
	}
	if n == 0 {
		return nil, nil
	}

	b := builder{set: make(Set, 0, n)}
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != ' ' {
			j++
		}
		b.add(s[i:j])
		i = j
	}
	return b.result(), nil
}

// FromList builds a Set from a JSON array claim, such as an array-valued `scp` or Auth0-style
// `permissions`. Each element must be exactly one scope-token: an empty element, or one holding a space
// or any other byte RFC 6749 §3.3 does not allow, fails the whole list with an error that wraps
// [ErrInvalidScope] and gives the element's index and byte offset, never its content. Duplicates are
// dropped. An empty list yields a nil Set and no error.
//
// The members of the Set are the elements of list; FromList allocates one slice for up to 16 distinct
// elements.
func FromList(list []string) (Set, error) {
	for i, tok := range list {
		if off := validToken(tok); off >= 0 {
			if tok == "" {
				return nil, fmt.Errorf("%w: element %d is empty", ErrInvalidScope, i)
			}
			return nil, fmt.Errorf("%w: element %d at byte offset %d", ErrInvalidScope, i, off)
		}
	}
	if len(list) == 0 {
		return nil, nil
	}
	b := builder{set: make(Set, 0, len(list))}
	for _, tok := range list {
		b.add(tok)
	}
	return b.result(), nil
}

// Has reports whether scope is a member of s. Matching is exact and case-sensitive.
func (s Set) Has(scope string) bool {
	return slices.Contains(s, scope)
}

// HasAll reports whether every one of scopes is a member of s. It is true when no scopes are given.
func (s Set) HasAll(scopes ...string) bool {
	for _, scope := range scopes {
		if !s.Has(scope) {
			return false
		}
	}
	return true
}

// HasAny reports whether at least one of scopes is a member of s. It is false when no scopes are given.
func (s Set) HasAny(scopes ...string) bool {
	for _, scope := range scopes {
		if s.Has(scope) {
			return true
		}
	}
	return false
}

// Union returns s followed by the members of o that are not in s, in o's order and without duplicates.
//
// When o adds nothing, Union returns s itself. Otherwise it returns a new slice: s's backing array is
// never written, even when it has spare capacity.
func (s Set) Union(o Set) Set {
	if len(o) == 0 {
		return s
	}
	// Clipping the capacity makes the first append copy s into a new array instead of writing past len(s).
	b := builder{set: s[:len(s):len(s)]}
	if len(s) > linearMax {
		b.index(len(s) + len(o))
	}
	for _, tok := range o {
		b.add(tok)
	}
	return b.set
}

// String returns the members of s joined by single spaces: the form of a `scope` claim, which [Parse]
// reads back to the same Set. It returns "" for an empty Set.
func (s Set) String() string {
	return strings.Join(s, " ")
}

// linearMax is the number of distinct members up to which duplicates are found by linear scan. Past it a
// map takes over, so that a hostile claim of thousands of distinct tokens costs O(n), not O(n²).
const linearMax = 16

// builder appends tokens to a Set, dropping the ones already present.
type builder struct {
	set  Set
	seen map[string]struct{} // nil until the set has more than linearMax members
}

func (b *builder) add(tok string) {
	if b.seen == nil {
		if b.set.Has(tok) {
			return
		}
		b.set = append(b.set, tok)
		if len(b.set) > linearMax {
			b.index(cap(b.set))
		}
		return
	}
	if _, dup := b.seen[tok]; dup {
		return
	}
	b.seen[tok] = struct{}{}
	b.set = append(b.set, tok)
}

// index switches b from linear scan to a map sized for hint members.
func (b *builder) index(hint int) {
	b.seen = make(map[string]struct{}, hint)
	for _, tok := range b.set {
		b.seen[tok] = struct{}{}
	}
}

// result returns the Set with its capacity clipped, so that appends by the caller never share an array.
func (b *builder) result() Set {
	return b.set[:len(b.set):len(b.set)]
}

// Requirement is what a handler demands of a token's scopes: all of a list of scopes ([All]) or at least
// one of them ([Any]). Build it once at set-up time, check it with [Requirement.Validate], and call
// [Requirement.SatisfiedBy] per request; it is immutable and safe for concurrent use.
//
// The zero Requirement demands nothing and is satisfied by every Set.
type Requirement struct {
	scopes []string // distinct, in the order given
	anyOf  bool
	str    string // scopes joined by spaces, precomputed for the challenge header
	err    error  // non-nil if a listed scope is not a valid scope-token
}

// All returns a Requirement that is satisfied when every one of scopes is granted. All() with no scopes
// demands nothing and is satisfied by every Set.
//
// All does not panic on invalid scopes; call [Requirement.Validate] at set-up time.
func All(scopes ...string) Requirement {
	return newRequirement(scopes, false)
}

// Any returns a Requirement that is satisfied when at least one of scopes is granted. Any() with no
// scopes demands nothing and, unlike [Set.HasAny] with no arguments, is satisfied by every Set, the
// empty Set included.
//
// Any does not panic on invalid scopes; call [Requirement.Validate] at set-up time.
func Any(scopes ...string) Requirement {
	return newRequirement(scopes, true)
}

func newRequirement(scopes []string, anyOf bool) Requirement {
	r := Requirement{anyOf: anyOf}
	for i, scope := range scopes {
		if off := validToken(scope); off >= 0 {
			if scope == "" {
				r.err = fmt.Errorf("%w: requirement scope %d is empty", ErrInvalidScope, i)
			} else {
				r.err = fmt.Errorf("%w: requirement scope %d at byte offset %d", ErrInvalidScope, i, off)
			}
			break
		}
	}
	if len(scopes) > 0 {
		// A fresh slice, so that the caller's later writes to scopes cannot change the Requirement.
		b := builder{set: make(Set, 0, len(scopes))}
		for _, scope := range scopes {
			b.add(scope)
		}
		r.scopes = b.result()
		r.str = strings.Join(r.scopes, " ")
	}
	return r
}

// SatisfiedBy reports whether the granted scopes s meet r. Matching is exact and case-sensitive.
//
// It fails closed: a Requirement for which [Requirement.Validate] returns an error is satisfied by no
// Set. A Requirement that lists no scopes demands nothing and is satisfied by every Set.
func (r Requirement) SatisfiedBy(s Set) bool {
	switch {
	case r.err != nil:
		return false
	case len(r.scopes) == 0:
		return true
	case r.anyOf:
		return s.HasAny(r.scopes...)
	default:
		return s.HasAll(r.scopes...)
	}
}

// Scopes returns a copy of the scopes r lists, duplicates removed, in the order given. It returns nil
// when r lists none.
func (r Requirement) Scopes() []string {
	return slices.Clone(r.scopes)
}

// IsAny reports whether r was built by [Any] (at least one scope needed) rather than [All].
func (r Requirement) IsAny() bool {
	return r.anyOf
}

// String returns the scopes r lists, duplicates removed, in the order given, joined by single spaces.
// This is the value of the `scope` attribute of an RFC 6750 §3.1 insufficient_scope challenge. It is
// computed by [All] and [Any], so String does not allocate. For a Requirement that fails
// [Requirement.Validate] the result may hold bytes that are unsafe in a header; do not serve one.
func (r Requirement) String() string {
	return r.str
}

// Validate returns an error wrapping [ErrInvalidScope] if a listed scope is not a valid scope-token
// (RFC 6749 §3.3), naming the scope's position but not its content. Adapters call it at set-up time so
// that a typo fails at start-up instead of denying every request.
func (r Requirement) Validate() error {
	return r.err
}
