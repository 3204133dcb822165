package keyset

import (
	"context"
	"crypto"
	"fmt"
)

// Set is an immutable set of verification keys and a static [Source]. Its
// Key method applies the selection rule of the package documentation and
// ignores Query.Issuer. Safe for concurrent use.
type Set struct {
	keys  []entry
	byKID map[string][]int
}

type entry struct {
	Key
	fam family
}

// NewSet returns a Set of keys, which must each pass [Key.Validate]; the
// first that does not is returned as the error. The keys are copied.
func NewSet(keys ...Key) (*Set, error) {
	s := &Set{keys: make([]entry, 0, len(keys)), byKID: make(map[string][]int, len(keys))}
	for i, k := range keys {
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		s.byKID[k.ID] = append(s.byKID[k.ID], len(s.keys))
		s.keys = append(s.keys, entry{Key: k, fam: familyOf(k.Public)})
	}
	return s, nil
}

// Key returns the key for q.KeyID and q.Algorithm (see the package
// documentation); the ctx and q.Issuer are not used.
func (s *Set) Key(_ context.Context, q Query) (crypto.PublicKey, error) {
	k, err := s.Find(q.KeyID, q.Algorithm)
	if err != nil {
		return nil, err
	}
	return k.Public, nil
}

// Find selects the key for kid and alg: the key with that kid which suits
// alg, or, for a token without kid, the only key of the set that suits alg.
// The returned Key's Public is the same value for as long as the Set lives,
// so a cache may compare it by identity.
func (s *Set) Find(kid, alg string) (Key, error) {
	if kid == "" {
		if _, ok := table[alg]; !ok {
			return Key{}, ErrUnsupportedAlg
		}
		found := -1
		for i := range s.keys {
			if suits(s.keys[i].Algorithm, s.keys[i].fam, alg) {
				if found >= 0 {
					return Key{}, fmt.Errorf("%w: token has no kid and several keys suit %s", ErrKeyNotFound, alg)
				}
				found = i
			}
		}
		if found < 0 {
			return Key{}, fmt.Errorf("%w: token has no kid and no key suits %s", ErrKeyNotFound, alg)
		}
		return s.keys[found].Key, nil
	}
	// The alg is checked against the table only on the way out, so that the
	// common path makes one map lookup (a pinned key compares its alg).
	cands, ok := s.byKID[kid]
	if ok {
		for _, i := range cands {
			if e := &s.keys[i]; suits(e.Algorithm, e.fam, alg) {
				return e.Key, nil
			}
		}
	}
	if _, known := table[alg]; !known {
		return Key{}, ErrUnsupportedAlg
	}
	if !ok {
		return Key{}, ErrKeyNotFound
	}
	return Key{}, ErrAlgMismatch
}

// Len returns the number of keys.
func (s *Set) Len() int { return len(s.keys) }

// Keys returns a copy of the keys, in the order given to NewSet.
func (s *Set) Keys() []Key {
	out := make([]Key, len(s.keys))
	for i, e := range s.keys {
		out[i] = e.Key
	}
	return out
}
