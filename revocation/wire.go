package revocation

import (
	"fmt"
	"math"
	"time"

	"github.com/go-json-experiment/json"
)

// wire is a Revocation as JSON: the form a replica publishes and the
// example's revocation route accepts, so that any Redis client (an
// authorization server's hook, say) can publish one. Times are Unix
// seconds.
type wire struct {
	Kind   Kind    `json:"kind"`
	Value  string  `json:"value"`
	Client string  `json:"client,omitempty"`
	Issuer string  `json:"iss,omitempty"`
	At     float64 `json:"at,omitempty"`
	Until  float64 `json:"until,omitempty"`
}

// MarshalJSON writes r as {"kind","value","client","iss","at","until"},
// the times in whole Unix seconds (At rounded up, so a token issued in the
// same second stays revoked; Until rounded up).
func (r Revocation) MarshalJSON() ([]byte, error) {
	w := wire{Kind: r.Kind, Value: r.Value, Client: r.Client, Issuer: r.Issuer}
	if !r.At.IsZero() {
		w.At = ceilSeconds(r.At)
	}
	if !r.Until.IsZero() {
		w.Until = ceilSeconds(r.Until)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes: member names exact, no
// duplicate nor unknown member, at and until optional (zero: see
// Normalize). It does not Normalize.
func (r *Revocation) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w, json.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("%w: not a JSON revocation object", ErrInvalid)
	}
	for _, t := range []float64{w.At, w.Until} {
		if t < 0 || t > 1<<40 || math.IsNaN(t) {
			return fmt.Errorf("%w: at or until out of range", ErrInvalid)
		}
	}
	*r = Revocation{Kind: w.Kind, Value: w.Value, Client: w.Client, Issuer: w.Issuer}
	if w.At > 0 {
		r.At = fromSeconds(w.At)
	}
	if w.Until > 0 {
		r.Until = fromSeconds(w.Until)
	}
	return nil
}

func ceilSeconds(t time.Time) float64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return float64(s)
}

func fromSeconds(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
