package scopes

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// referenceParse is a deliberately simple model of Parse: split on single spaces, skip empty fields,
// check every byte, keep first appearances. FuzzParse holds Parse to it.
func referenceParse(s string) (Set, bool) {
	var out Set
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c < 0x21 || c > 0x7E || c == '"' || c == '\\' {
				return nil, false
			}
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, true
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"openid profile email offline_access read:clients write:invoices",
		"",
		"   ",
		"read  write  read",
		" https://api.example.com/x.read ",
		"!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
		"read\twrite",
		"read\r\nX-Injected: 1",
		`read "write"`,
		`read\write`,
		"lecture:écrire",
		"read \xff\x00\x7f",
		strings.Repeat("a ", 40),
		// More than linearMax distinct tokens, then repeats: the map path.
		"a b c d e f g h i j k l m n o p q r s t a t u b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		want, ok := referenceParse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalidScope", s, err)
			}
			if got != nil {
				t.Fatalf("Parse(%q) returned %q with error %v", s, got, err)
			}
			if ok {
				t.Fatalf("Parse(%q) rejected a valid claim: %v", s, err)
			}
			return
		}
		if !ok {
			t.Fatalf("Parse(%q) = %q, accepted an invalid claim", s, got)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Parse(%q) = %q, reference gives %q", s, got, want)
		}
		for i, tok := range got {
			if off := validToken(tok); off >= 0 {
				t.Fatalf("Parse(%q) member %d %q is not a scope-token (byte %d)", s, i, tok, off)
			}
			if slices.Contains(got[:i], tok) {
				t.Fatalf("Parse(%q) member %d %q is a duplicate", s, i, tok)
			}
		}
		again, err := Parse(got.String())
		if err != nil {
			t.Fatalf("Parse(%q) (round trip of %q) failed: %v", got.String(), s, err)
		}
		if !slices.Equal(again, got) {
			t.Fatalf("round trip of %q: Parse(%q) = %q, want %q", s, got.String(), again, got)
		}
		if list, err := FromList(got); err != nil || !slices.Equal(list, got) {
			t.Fatalf("FromList(%q) = %q, %v; want the same Set", got, list, err)
		}
	})
}
