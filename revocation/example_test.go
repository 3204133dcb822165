package revocation_test

import (
	"fmt"
	"time"

	"github.com/clientcasa/oauthguard/middleware"
	"github.com/clientcasa/oauthguard/revocation"
)

// A logout revokes the session's tokens; a token of a new sign-in in the
// same session, issued later, passes.
func ExampleSet() {
	set := revocation.NewSet(0, nil)
	logout := time.Now()
	if _, err := set.Revoke(revocation.Revocation{Kind: revocation.Session, Value: "sess_42", At: logout}); err != nil {
		panic(err)
	}
	before := &middleware.Claims{SessionID: "sess_42", IssuedAt: logout.Add(-10 * time.Minute)}
	after := &middleware.Claims{SessionID: "sess_42", IssuedAt: logout.Add(time.Second)}
	r1, _ := set.Revoked(before)
	r2, _ := set.Revoked(after)
	fmt.Println(r1, r2)
	// Output: true false
}
