package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrClaimRequirement is the reason of the 403 forbidden a claim rule
// ([ClaimEquals], [ClaimIncludes], [ClaimCheck]) answers; the kind is
// ErrForbidden.
var ErrClaimRequirement = errors.New("claim requirement not met")

// Claim decodes the claim name of the token (or of the introspection answer
// for an opaque token) into v, and reports whether the token has it.
func (c *Claims) Claim(name string, v any) (bool, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(c.Raw(), &all); err != nil {
		return false, err
	}
	raw, ok := all[name]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// ClaimEquals returns the Rule that the token's claim name equals value: a
// string, a bool or a number (of any Go integer or float type), compared as
// JSON values: the string "42" does not equal the number 42. A token without
// the claim, or with another value, is 403 forbidden with a description
// naming the claim (never the value wanted).
func ClaimEquals(name string, value any) (Rule, error) {
	if err := checkClaimName(name); err != nil {
		return nil, err
	}
	want, err := json.Marshal(value)
	switch value.(type) {
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
	default:
		err = fmt.Errorf("middleware: ClaimEquals(%q): the value must be a string, bool or number, not %T", name, value)
	}
	if f, ok := value.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		err = fmt.Errorf("middleware: ClaimEquals(%q): the value must be a finite number", name)
	}
	if err != nil {
		return nil, err
	}
	// Strings and bools compare decoded (JSON escapes aside), numbers by
	// value.
	var plain any
	switch v := value.(type) {
	case string, bool:
		plain = v
	}
	missing, wrong := claimErrors(name, "does not have the required value")
	return func(c *Claims) error {
		if c == nil {
			return NoCredentials()
		}
		var got json.RawMessage
		if ok, err := c.Claim(name, &got); err != nil || !ok {
			return reject(missing)
		}
		if plain == nil {
			if sameNumber(got, want) {
				return nil
			}
			return reject(wrong)
		}
		var v any
		if json.Unmarshal(got, &v) == nil && v == plain {
			return nil
		}
		return reject(wrong)
	}, nil
}

// sameNumber reports whether the JSON numbers a and b are equal (1, 1.0 and
// 1e0 are).
func sameNumber(a, b json.RawMessage) bool {
	var x, y json.Number
	if len(a) == 0 || a[0] == '"' || json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	if i, err := x.Int64(); err == nil {
		j, err := y.Int64()
		return err == nil && i == j
	}
	f, err1 := x.Float64()
	g, err2 := y.Float64()
	return err1 == nil && err2 == nil && f == g
}

// ClaimIncludes returns the Rule that the token's claim name, a JSON array
// of strings or a space-delimited string (as scope is), includes every one
// of values. A token without the claim, or lacking one of the values, is
// 403 forbidden with a description naming the claim.
func ClaimIncludes(name string, values ...string) (Rule, error) {
	if err := checkClaimName(name); err != nil {
		return nil, err
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("middleware: ClaimIncludes(%q) needs at least one value", name)
	}
	for _, v := range values {
		if v == "" || strings.ContainsAny(v, " \t\r\n") {
			return nil, fmt.Errorf("middleware: ClaimIncludes(%q): value %q is empty or has white space", name, v)
		}
	}
	want := slices.Clone(values)
	missing, wrong := claimErrors(name, "does not include the required values")
	return func(c *Claims) error {
		if c == nil {
			return NoCredentials()
		}
		var got any
		if ok, err := c.Claim(name, &got); err != nil || !ok {
			return reject(missing)
		}
		var have []string
		switch g := got.(type) {
		case string:
			have = strings.Fields(g)
		case []any:
			for _, e := range g {
				if s, ok := e.(string); ok {
					have = append(have, s)
				}
			}
		}
		for _, w := range want {
			if !slices.Contains(have, w) {
				return reject(wrong)
			}
		}
		return nil
	}, nil
}

// ClaimCheck returns the Rule that check approves the claims (use
// Claims.Claim or Claims.Decode for custom claims). When it does not, the
// answer is 403 forbidden with description, which is sent to the client:
// make it specific and safe (no token contents, no secrets).
func ClaimCheck(description string, check func(*Claims) bool) (Rule, error) {
	switch {
	case check == nil:
		return nil, errors.New("middleware: ClaimCheck needs a check function")
	case description == "" || len(description) > 200 || strings.ContainsAny(description, "\"\\\r\n"):
		return nil, errors.New("middleware: ClaimCheck needs a description of 1 to 200 characters without quotes, backslashes or line breaks")
	}
	refused := claimError(description)
	return func(c *Claims) error {
		if c == nil {
			return NoCredentials()
		}
		if check(c) {
			return nil
		}
		return reject(refused)
	}, nil
}

func checkClaimName(name string) error {
	if name == "" || len(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r >= 0x7f }) {
		return fmt.Errorf("middleware: claim name %q must be 1 to 100 printable ASCII characters without spaces, quotes or backslashes", name)
	}
	return nil
}

// claimErrors are a claim rule's two 403s: the claim is missing, or its
// value falls short.
func claimErrors(name, falls string) (missing, wrong *Error) {
	return claimError("the access token has no " + name + " claim"),
		claimError("the access token's " + name + " claim " + falls)
}

func claimError(description string) *Error {
	e := Forbidden(description)
	e.reason = ErrClaimRequirement
	return e
}
