package scopes_test

import (
	"errors"
	"fmt"

	"github.com/clientcasa/oauthguard/scopes"
)

func ExampleParse() {
	// Runs of spaces are accepted and duplicates dropped; order of first appearance is kept.
	granted, err := scopes.Parse("openid  profile read:clients openid")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(granted), granted)
	fmt.Println(granted.Has("read:clients"), granted.Has("Read:Clients"))
	// Output:
	// 3 openid profile read:clients
	// true false
}

func ExampleParse_invalid() {
	// A tab is not a separator: the whole claim is rejected, and the error does not repeat it.
	_, err := scopes.Parse("read\twrite")
	fmt.Println(errors.Is(err, scopes.ErrInvalidScope))
	fmt.Println(err)
	// Output:
	// true
	// scopes: invalid scope token at byte offset 4
}

func ExampleFromList() {
	// An array-valued claim such as `scp` or `permissions`, after JSON decoding.
	granted, err := scopes.FromList([]string{"read:invoices", "write:invoices", "read:invoices"})
	fmt.Println(granted, err)
	// Output:
	// read:invoices write:invoices <nil>
}

func ExampleRequirement_SatisfiedBy() {
	granted, _ := scopes.Parse("openid read:clients write:invoices")

	needBoth := scopes.All("read:clients", "delete:clients")
	needEither := scopes.Any("admin", "write:invoices")
	for _, r := range []scopes.Requirement{needBoth, needEither} {
		// Validate once at set-up time; a typo fails at start-up instead of denying every request.
		if err := r.Validate(); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("any=%v %q: %v\n", r.IsAny(), r, r.SatisfiedBy(granted))
	}
	// Output:
	// any=false "read:clients delete:clients": false
	// any=true "admin write:invoices": true
}

func ExampleRequirement_String() {
	// String is the scope attribute of an RFC 6750 insufficient_scope challenge.
	r := scopes.All("read:clients", "write:invoices", "read:clients")
	fmt.Printf("Bearer error=\"insufficient_scope\", scope=%q\n", r.String())
	// Output:
	// Bearer error="insufficient_scope", scope="read:clients write:invoices"
}

func ExampleSet_String() {
	merged := scopes.Set{"openid", "read:clients"}.Union(scopes.Set{"read:clients", "write:invoices"})
	fmt.Println(merged.String())
	// Output:
	// openid read:clients write:invoices
}
