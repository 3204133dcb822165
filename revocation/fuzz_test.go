package revocation_test

import (
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/revocation"
)

// FuzzRevocationJSON feeds arbitrary bytes to the JSON form a replica (or
// any publisher) sends: never a panic, and what parses and normalizes goes
// into a Set and comes back out unchanged.
func FuzzRevocationJSON(f *testing.F) {
	for _, s := range []string{`{"kind":"sub","value":"alice"}`, `{"kind":"sub+client_id","value":"a","client":"c","at":1796212800,"until":1796216400}`,
		`{"kind":"jti","value":"x","iss":"https://as"}`, `{"kind":"sid","value":"","at":1e300}`, `nul`, `{"kind":"sub","value":"a","value":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r revocation.Revocation
		if r.UnmarshalJSON(b) != nil {
			return
		}
		now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
		n, err := r.Normalize(now)
		if err != nil {
			return
		}
		s := revocation.NewSet(0, func() time.Time { return now })
		if s.Merge(n) == 0 {
			if n.Until.After(now) {
				t.Fatalf("live revocation %+v not merged", n)
			}
			return
		}
		all := s.All()
		if len(all) != 1 || all[0] != n {
			t.Fatalf("%+v came back as %+v", n, all)
		}
	})
}
