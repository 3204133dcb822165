package middleware

import (
	"errors"
	"slices"

	"github.com/clientcasa/oauthguard/keyset"
)

// Issuer is one trusted authorization server of Config.Trusted: its tokens
// verify only with its own keys, and are held to its own audiences and
// organization claim when set.
type Issuer struct {
	// Issuer is the iss its tokens carry, compared exactly. Required.
	Issuer string
	// Keys supplies this issuer's keys only (a *jwks.Source of this
	// issuer). Required.
	Keys keyset.Source
	// Audiences its tokens must name one of. Zero: Config.Audiences.
	Audiences []string
	// OrganizationClaim names its organization claim. Zero:
	// Config.OrganizationClaim.
	OrganizationClaim string
	// SkipOrganization turns the organization requirement off for it.
	// Zero: Config.SkipOrganization.
	SkipOrganization bool
	// Introspector confirms this issuer's JWTs (Config.RevocationCheck).
	// Zero: Config.Introspector. Opaque tokens, which name no issuer until
	// introspected, go to Config.Introspector.
	Introspector Introspector
}

// issuerPolicy is what a Validator checks of one issuer's tokens.
type issuerPolicy struct {
	issuer    string // "" for the issuers an IssuerSet trusts
	keys      keyset.Source
	audiences []string
	orgClaim  string
	skipOrg   bool
	intro     Introspector
}

// issuers selects the policy of a token's iss.
type issuers struct {
	single  *issuerPolicy            // the one issuer, when there is one: no lookup
	trusted map[string]*issuerPolicy // by iss
	dynamic *issuerPolicy            // for the issuers dynSet trusts
	dynSet  keyset.IssuerSet
	names   []string // the configured issuers, for introspection answers without iss
}

// policyFor returns the policy of iss, or nil when iss is not trusted: then
// no key is looked up, so an unknown issuer costs no network request.
func (is *issuers) policyFor(iss string) *issuerPolicy {
	if is.single != nil {
		if iss == is.single.issuer {
			return is.single
		}
		return nil
	}
	if p, ok := is.trusted[iss]; ok {
		return p
	}
	if is.dynSet != nil && iss != "" && is.dynSet.Trusts(iss) {
		return is.dynamic
	}
	return nil
}

// checkIssuers reports the mistakes in c's issuer settings.
func (c Config) checkIssuers(add func(string, ...any)) {
	if len(c.Trusted) > 0 {
		if len(c.Issuers) > 0 || c.Keys != nil {
			add("Config.Trusted excludes Config.Issuers and Config.Keys (each trusted issuer has its own keys)")
		}
		seen := map[string]bool{}
		for i, t := range c.Trusted {
			switch {
			case t.Issuer == "":
				add("Config.Trusted[%d].Issuer is required", i)
			case seen[t.Issuer]:
				add("Config.Trusted[%d].Issuer %q is listed twice", i, t.Issuer)
			}
			seen[t.Issuer] = true
			if t.Keys == nil {
				add("Config.Trusted[%d].Keys is required", i)
			}
			if auds := cmpOr(t.Audiences, c.Audiences); len(auds) == 0 || slices.Contains(auds, "") {
				add("Config.Trusted[%d] needs at least one non-empty audience (its Audiences or Config.Audiences)", i)
			}
			if slices.Contains(registered, t.OrganizationClaim) {
				add("Config.Trusted[%d].OrganizationClaim %q is a registered claim", i, t.OrganizationClaim)
			}
		}
		return
	}
	_, isSet := c.Keys.(keyset.IssuerSet)
	if c.Keys == nil {
		add("Config.Keys is required (a *jwks.Source, a *keyset.Set or any keyset.Source)")
	}
	switch {
	case slices.Contains(c.Issuers, ""):
		add("Config.Issuers must list no empty issuer")
	case len(c.Issuers) == 0 && !isSet:
		add("Config.Issuers must list at least one issuer (or Config.Keys be a keyset.IssuerSet that decides them, such as jwks.Issuers)")
	case len(c.Issuers) > 1 && c.Keys != nil && !isSet:
		// One key source for several issuers would let a key of one verify
		// tokens claiming another.
		add("Config.Issuers lists several issuers but Config.Keys is one key source: use Config.Trusted, one key source per issuer")
	}
	if len(c.Audiences) == 0 || slices.Contains(c.Audiences, "") {
		add("Config.Audiences must list at least one non-empty audience")
	}
}

func cmpOr[T any](a, b []T) []T {
	if len(a) > 0 {
		return a
	}
	return b
}

// newIssuers builds the policies of c (checked).
func newIssuers(c Config, orgClaim string) issuers {
	policy := func(iss string, keys keyset.Source, auds []string, org string, skip bool, intro Introspector) *issuerPolicy {
		if org == "" {
			org = orgClaim
		}
		return &issuerPolicy{issuer: iss, keys: keys, audiences: slices.Clone(auds), orgClaim: org,
			skipOrg: skip || c.SkipOrganization, intro: intro}
	}
	var is issuers
	if len(c.Trusted) > 0 {
		is.trusted = map[string]*issuerPolicy{}
		for _, t := range c.Trusted {
			is.trusted[t.Issuer] = policy(t.Issuer, t.Keys, cmpOr(t.Audiences, c.Audiences), t.OrganizationClaim,
				t.SkipOrganization, t.Introspector)
			is.names = append(is.names, t.Issuer)
		}
		return is
	}
	set, isSet := c.Keys.(keyset.IssuerSet)
	if len(c.Issuers) == 1 && !isSet {
		is.single = policy(c.Issuers[0], c.Keys, c.Audiences, "", false, nil)
		is.names = []string{c.Issuers[0]}
		return is
	}
	// An IssuerSet binds keys to issuers: the listed issuers, or those it
	// trusts when none is listed.
	is.trusted = map[string]*issuerPolicy{}
	for _, iss := range c.Issuers {
		is.trusted[iss] = policy(iss, c.Keys, c.Audiences, "", false, nil)
		is.names = append(is.names, iss)
	}
	if len(c.Issuers) == 0 {
		is.dynSet, is.dynamic = set, policy("", c.Keys, c.Audiences, "", false, nil)
	}
	return is
}

var errNoIssuerClaim = errors.New("claims: no iss")

// issuerOf reads the iss member of a claims document without decoding the
// rest: with several issuers it selects the keys before the signature is
// checked.
func (p *parser) issuerOf(doc []byte) (string, error) {
	iss, found := "", false
	err := p.members(doc, func(name []byte) (err error) {
		if string(name) == "iss" {
			iss, err = p.str()
			found = true
			return err
		}
		return p.dec.SkipValue()
	})
	if err != nil {
		return "", err
	}
	if !found {
		return "", errNoIssuerClaim
	}
	return iss, nil
}
