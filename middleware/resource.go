package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// ProtectedResourceMetadataPath is the RFC 9728 well-known path.
const ProtectedResourceMetadataPath = "/.well-known/oauth-protected-resource"

// ProtectedResource is RFC 9728 protected resource metadata: how OAuth 2.1
// clients (MCP clients among them) find the authorization server for this
// API. Build it once at start-up.
type ProtectedResource struct {
	// Resource is the resource identifier (the audience tokens must carry),
	// an https URL (http for loopback) without fragment. Required.
	Resource string `json:"resource"`
	// AuthorizationServers lists the issuer identifiers of the authorization
	// servers that issue tokens for this resource.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// ScopesSupported lists the scopes this resource understands.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported is how tokens are presented. Zero: ["header"],
	// the only method this module accepts.
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// ResourceName is a human-readable name.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is a URL of developer documentation.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	// SigningAlgValuesSupported lists the JWS algs accepted in access tokens
	// (RFC 9728 "resource_signing_alg_values_supported").
	SigningAlgValuesSupported []string `json:"resource_signing_alg_values_supported,omitempty"`
	// DPoPSigningAlgValuesSupported lists the algs accepted in DPoP proofs
	// (RFC 9728 "dpop_signing_alg_values_supported"): Validator.DPoPAlgorithms.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// DPoPBoundAccessTokensRequired says that only DPoP-bound tokens are
	// accepted (RFC 9728 "dpop_bound_access_tokens_required"):
	// Validator.DPoPRequired.
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitempty"`
}

// MetadataURL returns where RFC 9728 §3.1 puts the metadata of resource: the
// well-known path inserted between the host and the resource's path.
func MetadataURL(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" {
		return "", errors.New("middleware: the resource must be an absolute http(s) URL without fragment")
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + ProtectedResourceMetadataPath + path, nil
}

// Handler returns an http.Handler that serves the metadata as JSON to GET and
// HEAD requests. The document is encoded once, here.
func (pr ProtectedResource) Handler() (http.Handler, error) {
	if pr.Resource == "" {
		return nil, errors.New("middleware: ProtectedResource.Resource is required")
	}
	if pr.BearerMethodsSupported == nil {
		pr.BearerMethodsSupported = []string{"header"}
	}
	body, err := json.Marshal(pr)
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"error":"method_not_allowed","error_description":"use GET"}` + "\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(body)
	}), nil
}
