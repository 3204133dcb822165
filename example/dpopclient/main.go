// Command dpopclient calls an API with a DPoP-bound access token (RFC 9449),
// to try the example servers' DPoP support: it makes a key, gets a token
// bound to it from the authorization server's token endpoint (client
// credentials, with a DPoP proof), then calls the URL with
// "Authorization: DPoP <token>" and a fresh proof for that request, and
// prints the status and the body.
//
//	go run ./example/dpopclient http://127.0.0.1:8080/api/v1/clients
//
// In dev mode the example server is its own authorization server: the
// issuer defaults to the URL's origin and the client to the dev server's
// (authtest.DefaultClient). Otherwise pass -issuer, -client-id and the
// secret in the environment variable CLIENT_SECRET.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/clientcasa/oauthguard/authtest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dpopclient:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dpopclient", flag.ContinueOnError)
	issuer := fs.String("issuer", "", "the authorization server's issuer; default: the URL's origin (dev mode)")
	clientID := fs.String("client-id", authtest.DefaultClient.ID, "the client id; the secret is read from CLIENT_SECRET")
	scope := fs.String("scope", "read:clients write:invoices", "the scopes to ask for")
	method := fs.String("method", http.MethodGet, "the request method")
	alg := fs.String("alg", "ES256", "the proof algorithm (ES256, EdDSA, PS256, ...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: dpopclient [flags] URL")
	}
	target, err := url.Parse(fs.Arg(0))
	if err != nil || target.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", fs.Arg(0))
	}
	if *issuer == "" {
		*issuer = target.Scheme + "://" + target.Host
	}
	secret := os.Getenv("CLIENT_SECRET")
	if secret == "" && *clientID == authtest.DefaultClient.ID {
		secret = authtest.DefaultClient.Secret // the dev server's well-known test client
	}
	hc := &http.Client{Timeout: 10 * time.Second}

	// 1. The token endpoint, from the issuer's metadata (RFC 8414).
	var md struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := getJSON(hc, strings.TrimSuffix(*issuer, "/")+"/.well-known/oauth-authorization-server", &md); err != nil || md.TokenEndpoint == "" {
		return fmt.Errorf("no token_endpoint in the metadata of %s: %v", *issuer, err)
	}
	// 2. A key, and a token bound to it: the token request carries a proof.
	key, err := authtest.NewDPoPKey(*alg)
	if err != nil {
		return err
	}
	proof, err := key.Proof(http.MethodPost, md.TokenEndpoint, "")
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {*scope}}
	req, _ := http.NewRequest(http.MethodPost, md.TokenEndpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(*clientID), url.QueryEscape(secret))
	req.Header.Set("DPoP", proof)
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := doJSON(hc, req, &tr); err != nil || tr.TokenType != "DPoP" {
		return fmt.Errorf("token request: token_type %q: %v", tr.TokenType, err)
	}
	// 3. The call: the token with the DPoP scheme, a fresh proof of the same
	// key for this method and URL, with the token's hash (ath).
	if proof, err = key.Proof(*method, target.String(), tr.AccessToken); err != nil {
		return err
	}
	req, _ = http.NewRequest(*method, target.String(), nil)
	req.Header.Set("Authorization", "DPoP "+tr.AccessToken)
	req.Header.Set("DPoP", proof)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(out, "%s %s: %d\n%s", *method, target, resp.StatusCode, body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	return nil
}

func getJSON(hc *http.Client, u string, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return doJSON(hc, req, v)
}

func doJSON(hc *http.Client, req *http.Request, v any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}
