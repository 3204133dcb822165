package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// manyDistinct returns n distinct tokens, enough to cross linearMax and exercise the map path.
func manyDistinct(n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("s%d", i)
	}
	return toks
}

func TestParse(t *testing.T) {
	many := manyDistinct(3 * linearMax)
	tests := []struct {
		name    string
		in      string
		want    Set
		wantErr error
	}{
		// A token with no scope claim value, or only separators, grants nothing; that is not an error.
		{name: "empty_is_no_scopes", in: "", want: nil},
		{name: "all_spaces_is_no_scopes", in: "    ", want: nil},

		{name: "single_token", in: "openid", want: Set{"openid"}},
		{name: "realistic_claim_in_order", in: "openid profile email offline_access read:clients write:invoices",
			want: Set{"openid", "profile", "email", "offline_access", "read:clients", "write:invoices"}},

		// RFC 6749 asks for single spaces, but issuers emit runs of them; the separator is all we are lenient about.
		{name: "repeated_spaces_tolerated", in: "read   write", want: Set{"read", "write"}},
		{name: "leading_and_trailing_spaces_tolerated", in: "  read write  ", want: Set{"read", "write"}},

		{name: "duplicates_dropped_first_appearance_kept", in: "b a b c a", want: Set{"b", "a", "c"}},
		{name: "case_sensitive_tokens_are_distinct", in: "read Read READ read", want: Set{"read", "Read", "READ"}},
		{name: "duplicates_dropped_past_linear_limit",
			in:   strings.Join(many, " ") + " " + strings.Join(many, " ") + " s0",
			want: Set(many)},

		// Every byte of %x21 / %x23-5B / %x5D-7E is allowed: URIs, colons and all the punctuation.
		{name: "uri_and_punctuation_allowed",
			in:   "https://api.example.com/invoices.read !#$%&'()*+,-./:;<=>?@[]^_`{|}~",
			want: Set{"https://api.example.com/invoices.read", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"}},

		// Anything else fails the whole claim: the byte could end up in a header or a log line.
		{name: "tab_rejected", in: "read\twrite", wantErr: ErrInvalidScope},
		{name: "leading_tab_rejected", in: "\tread", wantErr: ErrInvalidScope},
		{name: "newline_rejected", in: "read\nwrite", wantErr: ErrInvalidScope},
		{name: "carriage_return_rejected", in: "read\r\nwrite", wantErr: ErrInvalidScope},
		{name: "quote_rejected", in: `read "write"`, wantErr: ErrInvalidScope},
		{name: "backslash_rejected", in: `read\write`, wantErr: ErrInvalidScope},
		{name: "nul_rejected", in: "read\x00", wantErr: ErrInvalidScope},
		{name: "control_char_rejected", in: "read \x01", wantErr: ErrInvalidScope},
		{name: "del_rejected", in: "read\x7f", wantErr: ErrInvalidScope},
		{name: "non_ascii_rejected", in: "lecture:écrire", wantErr: ErrInvalidScope},
		{name: "invalid_utf8_rejected", in: "read \xff", wantErr: ErrInvalidScope},
		{name: "no_break_space_separator_rejected", in: "read\u00a0write", wantErr: ErrInvalidScope},
		// One bad token poisons the claim: no partial Set is returned.
		{name: "valid_tokens_before_bad_one_not_returned", in: "read write admin\"", wantErr: ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err == nil && (got == nil) != (tt.want == nil) {
				t.Errorf("Parse(%q) = %#v, want %#v (nil-ness differs)", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDeduplicatesAroundLinearLimit(t *testing.T) {
	// Duplicate removal switches from linear scan to a map past linearMax members; either side of the
	// switch, every earlier token must still be recognised as a duplicate.
	for n := linearMax - 1; n <= linearMax+2; n++ {
		toks := manyDistinct(n)
		in := strings.Join(toks, " ") + " " + strings.Join(toks, " ")
		got, err := Parse(in)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !slices.Equal(got, Set(toks)) {
			t.Errorf("n=%d: Parse = %q, want %q", n, got, toks)
		}
	}
}

func TestParseErrorGivesOffsetNotInput(t *testing.T) {
	// The claim is attacker-controlled: its content must not flow into logs or responses through the error.
	_, err := Parse("read secret\"value")
	if !errors.Is(err, ErrInvalidScope) {
		t.Fatalf("error = %v, want ErrInvalidScope", err)
	}
	if msg := err.Error(); strings.Contains(msg, "secret") || strings.Contains(msg, "value") {
		t.Errorf("error %q echoes the input", msg)
	}
	if want := "scopes: invalid scope token at byte offset 11"; err.Error() != want {
		t.Errorf("error = %q, want %q", err.Error(), want)
	}
}

func TestParseSharesInputMemory(t *testing.T) {
	// The one-slice cost relies on members being substrings of the input, not copies.
	in := "openid profile"
	got, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(got[1]) != unsafe.StringData(in[len("openid "):]) {
		t.Error("Parse copied a token instead of slicing the input")
	}
}

func TestParseAllocs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  float64
	}{
		{name: "realistic_claim_one_slice", in: "openid profile email offline_access read:clients write:invoices", max: 1},
		{name: "duplicates_one_slice", in: strings.Repeat("read ", 1000), max: 1},
		{name: "empty_no_allocation", in: "   ", max: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, func() { _, _ = Parse(tt.in) }); got > tt.max {
				t.Errorf("Parse allocated %v times, want at most %v", got, tt.max)
			}
		})
	}
}

func TestParseResultCapacityClipped(t *testing.T) {
	// Duplicates leave spare capacity; clipping it means two appends to the result never share an array.
	s, err := Parse("a a a b")
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != cap(s) {
		t.Errorf("len = %d, cap = %d, want equal", len(s), cap(s))
	}
}

func TestFromList(t *testing.T) {
	many := manyDistinct(3 * linearMax)
	tests := []struct {
		name    string
		in      []string
		want    Set
		wantErr error
	}{
		{name: "nil_list_is_no_scopes", in: nil, want: nil},
		{name: "empty_list_is_no_scopes", in: []string{}, want: nil},
		{name: "elements_kept_in_order", in: []string{"read:clients", "write:invoices"}, want: Set{"read:clients", "write:invoices"}},
		{name: "duplicates_dropped", in: []string{"b", "a", "b"}, want: Set{"b", "a"}},
		{name: "duplicates_dropped_past_linear_limit", in: append(append([]string{}, many...), many...), want: Set(many)},
		{name: "case_sensitive_elements_are_distinct", in: []string{"read", "Read"}, want: Set{"read", "Read"}},

		// Each element is one scope-token: an array element is never split on spaces.
		{name: "empty_element_rejected", in: []string{"read", ""}, wantErr: ErrInvalidScope},
		{name: "space_inside_element_rejected", in: []string{"read write"}, wantErr: ErrInvalidScope},
		{name: "padded_element_rejected", in: []string{" read"}, wantErr: ErrInvalidScope},
		{name: "tab_rejected", in: []string{"read\t"}, wantErr: ErrInvalidScope},
		{name: "quote_rejected", in: []string{`"read"`}, wantErr: ErrInvalidScope},
		{name: "backslash_rejected", in: []string{`read\`}, wantErr: ErrInvalidScope},
		{name: "non_ascii_rejected", in: []string{"read", "ñ"}, wantErr: ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromList(tt.in)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("FromList(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FromList(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFromListErrorGivesPositionNotInput(t *testing.T) {
	_, err := FromList([]string{"read", "secret value"})
	if !errors.Is(err, ErrInvalidScope) {
		t.Fatalf("error = %v, want ErrInvalidScope", err)
	}
	if want := "scopes: invalid scope token: element 1 at byte offset 6"; err.Error() != want {
		t.Errorf("error = %q, want %q", err.Error(), want)
	}
}

func TestSetHas(t *testing.T) {
	s := Set{"read", "write:invoices"}
	tests := []struct {
		name  string
		set   Set
		scope string
		want  bool
	}{
		{name: "member_found", set: s, scope: "read", want: true},
		{name: "case_sensitive", set: s, scope: "Read", want: false},
		{name: "no_prefix_match", set: s, scope: "write", want: false},
		{name: "no_extension_match", set: s, scope: "read:all", want: false},
		{name: "empty_scope_not_member", set: s, scope: "", want: false},
		{name: "nil_set_has_nothing", set: nil, scope: "read", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.Has(tt.scope); got != tt.want {
				t.Errorf("%q.Has(%q) = %v, want %v", tt.set, tt.scope, got, tt.want)
			}
		})
	}
}

func TestSetHasAllHasAny(t *testing.T) {
	s := Set{"read", "write"}
	tests := []struct {
		name    string
		set     Set
		scopes  []string
		wantAll bool
		wantAny bool
	}{
		// No arguments: "all of nothing" holds, "any of nothing" does not.
		{name: "no_arguments_all_true_any_false", set: s, scopes: nil, wantAll: true, wantAny: false},
		{name: "no_arguments_on_nil_set", set: nil, scopes: nil, wantAll: true, wantAny: false},
		{name: "every_one_present", set: s, scopes: []string{"write", "read"}, wantAll: true, wantAny: true},
		{name: "one_of_two_present", set: s, scopes: []string{"read", "admin"}, wantAll: false, wantAny: true},
		{name: "none_present", set: s, scopes: []string{"admin", "delete"}, wantAll: false, wantAny: false},
		{name: "case_sensitive", set: s, scopes: []string{"READ"}, wantAll: false, wantAny: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.HasAll(tt.scopes...); got != tt.wantAll {
				t.Errorf("%q.HasAll(%q) = %v, want %v", tt.set, tt.scopes, got, tt.wantAll)
			}
			if got := tt.set.HasAny(tt.scopes...); got != tt.wantAny {
				t.Errorf("%q.HasAny(%q) = %v, want %v", tt.set, tt.scopes, got, tt.wantAny)
			}
		})
	}
}

func TestSetUnion(t *testing.T) {
	many := manyDistinct(2 * linearMax)
	tests := []struct {
		name string
		s, o Set
		want Set
	}{
		{name: "both_empty", s: nil, o: nil, want: nil},
		{name: "empty_other_keeps_s", s: Set{"a"}, o: nil, want: Set{"a"}},
		{name: "empty_s_takes_other", s: nil, o: Set{"a", "b"}, want: Set{"a", "b"}},
		{name: "new_members_appended_in_order", s: Set{"a", "b"}, o: Set{"c", "a", "d"}, want: Set{"a", "b", "c", "d"}},
		{name: "nothing_new", s: Set{"a", "b"}, o: Set{"b", "a"}, want: Set{"a", "b"}},
		{name: "duplicates_in_other_dropped", s: Set{"a"}, o: Set{"b", "b"}, want: Set{"a", "b"}},
		{name: "case_sensitive", s: Set{"a"}, o: Set{"A"}, want: Set{"a", "A"}},
		{name: "large_sets_past_linear_limit", s: Set(many[:linearMax+4]), o: Set(many[4:]), want: Set(many)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.s)
			if got := tt.s.Union(tt.o); !slices.Equal(got, tt.want) {
				t.Errorf("%q.Union(%q) = %q, want %q", tt.s, tt.o, got, tt.want)
			}
			if !slices.Equal(tt.s, before) {
				t.Errorf("Union modified s: %q, was %q", tt.s, before)
			}
		})
	}
}

func TestSetUnionDoesNotWriteSpareCapacity(t *testing.T) {
	// s has room for more: a naive append would write "b" into the array that s (and its other users) own.
	backing := make([]string, 1, 4)
	backing[0] = "a"
	s := Set(backing)
	u := s.Union(Set{"b"})
	if !slices.Equal(u, Set{"a", "b"}) {
		t.Fatalf("Union = %q, want [a b]", u)
	}
	if spare := backing[:2][1]; spare != "" {
		t.Errorf("Union wrote %q into s's spare capacity", spare)
	}
	u[0] = "changed"
	if s[0] != "a" {
		t.Error("Union result shares s's backing array")
	}
}

func TestSetString(t *testing.T) {
	tests := []struct {
		name string
		set  Set
		want string
	}{
		{name: "nil_is_empty_string", set: nil, want: ""},
		{name: "empty_is_empty_string", set: Set{}, want: ""},
		{name: "single", set: Set{"read"}, want: "read"},
		{name: "single_spaces_between", set: Set{"openid", "read:clients"}, want: "openid read:clients"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.set.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequirementSatisfiedBy(t *testing.T) {
	granted := Set{"openid", "read:clients", "write:invoices"}
	tests := []struct {
		name string
		req  Requirement
		set  Set
		want bool
	}{
		{name: "all_of_every_one_present", req: All("read:clients", "write:invoices"), set: granted, want: true},
		{name: "all_of_one_missing_rejected", req: All("read:clients", "delete:invoices"), set: granted, want: false},
		{name: "all_of_nil_set_rejected", req: All("read:clients"), set: nil, want: false},
		{name: "all_of_duplicates_listed", req: All("openid", "openid"), set: granted, want: true},
		// Nothing demanded: satisfied even by a token without scopes.
		{name: "all_of_none_listed_satisfied_by_empty", req: All(), set: nil, want: true},
		{name: "any_of_one_present", req: Any("admin", "write:invoices"), set: granted, want: true},
		{name: "any_of_none_present_rejected", req: Any("admin", "delete:invoices"), set: granted, want: false},
		{name: "any_of_nil_set_rejected", req: Any("admin"), set: nil, want: false},
		// Any() lists nothing, so it demands nothing (unlike Set.HasAny(), which is false).
		{name: "any_of_none_listed_satisfied_by_empty", req: Any(), set: nil, want: true},
		{name: "zero_requirement_satisfied", req: Requirement{}, set: nil, want: true},
		{name: "case_sensitive", req: All("READ:CLIENTS"), set: granted, want: false},
		{name: "no_prefix_match", req: All("read"), set: granted, want: false},
		{name: "no_hierarchy_match", req: Any("read:clients:all"), set: granted, want: false},
		// Fail closed: a Requirement that does not Validate is met by nothing, not even a hand-built Set
		// that contains the same bytes.
		{name: "invalid_all_fails_closed", req: All("read", "bad scope"), set: Set{"read", "bad scope"}, want: false},
		{name: "invalid_any_fails_closed", req: Any("read", ""), set: Set{"read", ""}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.SatisfiedBy(tt.set); got != tt.want {
				t.Errorf("%v(%q).SatisfiedBy(%q) = %v, want %v", kind(tt.req), tt.req, tt.set, got, tt.want)
			}
		})
	}
}

func kind(r Requirement) string {
	if r.IsAny() {
		return "Any"
	}
	return "All"
}

func TestRequirementString(t *testing.T) {
	tests := []struct {
		name string
		req  Requirement
		want string
	}{
		{name: "all_in_given_order", req: All("write", "read"), want: "write read"},
		{name: "any_in_given_order", req: Any("write", "read"), want: "write read"},
		{name: "duplicates_dropped", req: All("read", "write", "read"), want: "read write"},
		{name: "none_listed_is_empty", req: Any(), want: ""},
		{name: "zero_is_empty", req: Requirement{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequirementScopesIsCopy(t *testing.T) {
	args := []string{"read", "write", "read"}
	r := All(args...)
	args[0] = "admin" // the caller's slice changing later must not change the Requirement
	got := r.Scopes()
	if want := []string{"read", "write"}; !slices.Equal(got, want) {
		t.Fatalf("Scopes() = %q, want %q", got, want)
	}
	got[0] = "admin"
	if r.Scopes()[0] != "read" || r.String() != "read write" || !r.SatisfiedBy(Set{"read", "write"}) {
		t.Error("writing to the result of Scopes() changed the Requirement")
	}
	if All().Scopes() != nil {
		t.Error("All().Scopes() is not nil")
	}
}

func TestRequirementIsAny(t *testing.T) {
	if All("a").IsAny() || All().IsAny() || (Requirement{}).IsAny() {
		t.Error("IsAny true for All")
	}
	if !Any("a").IsAny() || !Any().IsAny() {
		t.Error("IsAny false for Any")
	}
}

func TestRequirementValidate(t *testing.T) {
	tests := []struct {
		name    string
		req     Requirement
		wantErr error
	}{
		{name: "valid_all", req: All("read:clients", "https://api.example.com/x"), wantErr: nil},
		{name: "valid_any", req: Any("read"), wantErr: nil},
		{name: "none_listed_valid", req: All(), wantErr: nil},
		{name: "zero_valid", req: Requirement{}, wantErr: nil},
		{name: "empty_scope_rejected", req: All("read", ""), wantErr: ErrInvalidScope},
		{name: "space_inside_scope_rejected", req: Any("read write"), wantErr: ErrInvalidScope},
		{name: "quote_rejected", req: All(`read"`), wantErr: ErrInvalidScope},
		{name: "newline_rejected", req: Any("read\r\nX-Injected: 1"), wantErr: ErrInvalidScope},
		{name: "non_ascii_rejected", req: All("écrire"), wantErr: ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Errorf("Validate() = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRequirementValidateGivesPosition(t *testing.T) {
	err := All("read", "write", "bad\tscope").Validate()
	if want := "scopes: invalid scope token: requirement scope 2 at byte offset 3"; err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}

func TestRequirementRequestPathDoesNotAllocate(t *testing.T) {
	r := All("read:clients", "write:invoices")
	s := Set{"openid", "profile", "email", "offline_access", "read:clients", "write:invoices"}
	if got := testing.AllocsPerRun(100, func() { _ = r.SatisfiedBy(s) }); got != 0 {
		t.Errorf("SatisfiedBy allocated %v times, want 0", got)
	}
	if got := testing.AllocsPerRun(100, func() { _ = r.String() }); got != 0 {
		t.Errorf("String allocated %v times, want 0", got)
	}
}

var (
	realisticClaim = "openid profile email offline_access read:clients write:invoices"
	// attackerClaim is an 8 KiB claim of distinct two-byte tokens: the worst case for duplicate removal.
	attackerClaim = func() string {
		var b strings.Builder
		for i := 0; b.Len() < 8<<10-3; i++ {
			b.WriteByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[i%62])
			b.WriteByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[i/62%62])
			b.WriteByte(' ')
		}
		return b.String()
	}()
	// attackerRepeated is an 8 KiB claim of one token repeated.
	attackerRepeated = strings.Repeat("read ", 8<<10/5)
)

var sinkSet Set

func BenchmarkParse(b *testing.B) {
	for _, bb := range []struct {
		name string
		in   string
	}{
		{name: "realistic_6_scopes", in: realisticClaim},
		{name: "attacker_8KiB_distinct", in: attackerClaim},
		{name: "attacker_8KiB_repeated", in: attackerRepeated},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.in)))
			for b.Loop() {
				s, err := Parse(bb.in)
				if err != nil {
					b.Fatal(err)
				}
				sinkSet = s
			}
		})
	}
}

var sinkBool bool

func BenchmarkRequirementSatisfiedBy(b *testing.B) {
	realistic, err := Parse(realisticClaim)
	if err != nil {
		b.Fatal(err)
	}
	large, err := Parse(attackerClaim)
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name string
		req  Requirement
		set  Set
	}{
		{name: "all_of_2_realistic", req: All("read:clients", "write:invoices"), set: realistic},
		{name: "any_of_2_realistic_none_present", req: Any("admin", "delete:invoices"), set: realistic},
		{name: "all_of_2_attacker_8KiB_absent", req: All("read:clients", "write:invoices"), set: large},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkBool = bb.req.SatisfiedBy(bb.set)
			}
		})
	}
}
