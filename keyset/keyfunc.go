package keyset

import (
	"context"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Keyfunc returns a golang-jwt Keyfunc that asks src for the key of each
// token, for code that calls jwt.Parse itself. It applies the same rules as
// package middleware's Validator to the key: the token's alg must be one of
// [Algorithms] (so HS* and "none" fail, whatever jwt.Parse allows), its kid
// must be a string when present, and src selects the key by issuer, kid and
// alg. Errors wrap the Source's sentinels. Pass
// jwt.WithValidMethods(keyset.Algorithms()) too, and check the claims
// (exp, iss, aud) as your application needs; Validator does all of that.
func Keyfunc(src Source) jwt.Keyfunc {
	return KeyfuncContext(context.Background(), src)
}

// KeyfuncContext is Keyfunc with a context for the key lookups.
func KeyfuncContext(ctx context.Context, src Source) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if t == nil || t.Method == nil {
			return nil, ErrUnsupportedAlg
		}
		alg := t.Method.Alg()
		if h, ok := t.Header["alg"].(string); ok {
			alg = h
		}
		if _, ok := table[alg]; !ok {
			return nil, ErrUnsupportedAlg
		}
		q := Query{Algorithm: alg}
		if kid, ok := t.Header["kid"]; ok {
			s, isString := kid.(string)
			if !isString {
				return nil, fmt.Errorf("%w: kid is not a string", ErrKeyNotFound)
			}
			q.KeyID = s
		}
		if t.Claims != nil {
			q.Issuer, _ = t.Claims.GetIssuer()
		}
		return src.Key(ctx, q)
	}
}
