package middleware_test

// Found by the attack catalogue and fixed in jwks: a small-order Ed25519 key.

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/clientcasa/oauthguard/jwks"
)

// A JWKS that publishes a small-order Ed25519 public key (here the identity
// point, encoded 01 00 ... 00) makes every token forgeable: with A = identity,
// the signature R = identity, S = 0 satisfies [S]B = R + [k]A for any message,
// and crypto/ed25519.Verify (cofactorless, no check on A's order) accepts it.
// jwks (through jwkset) only checks that x is 32 bytes, so the key is held as
// usable and the validator accepts the forgery for any organization.
func TestAttackSmallOrderEd25519KeyInJWKS(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	doc := fmt.Sprintf(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"weak","alg":"EdDSA","use":"sig","x":%q}]}`,
		base64.RawURLEncoding.EncodeToString(identity))

	if set, _, err := jwks.Parse([]byte(doc)); err == nil {
		if _, err := set.Find("weak", "EdDSA"); err == nil {
			t.Errorf("jwks holds a small-order Ed25519 key as usable")
		}
	}

	// The key is skipped, so the set is empty and the source is refused.
	v, err := staticValidator([]byte(doc), nil)
	if err != nil {
		return
	}
	sig := make([]byte, 64)
	sig[0] = 1 // R = identity point, S = 0
	for _, org := range []string{"org_acme", "org_globex"} {
		tok := enc(hdr("EdDSA", "weak")) + "." + enc(claimsJSON("organizationId", `"`+org+`"`, "sub", `"admin"`)) + "." + encBytes(sig)
		if c, err := v.Validate(context.Background(), tok); err == nil {
			t.Errorf("forged token for %s accepted: sub=%q org=%q", org, c.Subject, c.OrganizationID)
		}
	}
}
