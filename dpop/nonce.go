package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Nonces issues and checks server-provided DPoP nonces (RFC 9449 §8),
// for deployments that want to bound a proof's lifetime by the server's
// clock rather than the client's. HMACNonces is stateless and shared by
// replicas that share its secret.
type Nonces interface {
	// Nonce returns a nonce to send in a DPoP-Nonce header.
	Nonce() string
	// Valid reports whether nonce was issued recently enough.
	Valid(nonce string) bool
}

// HMACNonces are nonces made of a time step and its HMAC-SHA256 under a
// secret: valid during their step and the next (a lifetime of 1 to 2
// steps), checkable by any replica with the secret, no state.
type HMACNonces struct {
	secret []byte
	step   time.Duration
	now    func() time.Time
}

// NewHMACNonces returns nonces under secret (at least 32 bytes) that live
// one to two steps (zero: 1 minute), on the clock now (nil: time.Now).
func NewHMACNonces(secret []byte, step time.Duration, now func() time.Time) (*HMACNonces, error) {
	if len(secret) < 32 {
		return nil, errors.New("dpop: a nonce secret needs at least 32 bytes")
	}
	if step <= 0 {
		step = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &HMACNonces{secret: append([]byte(nil), secret...), step: step, now: now}, nil
}

func (n *HMACNonces) make(counter uint64) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], counter)
	m := hmac.New(sha256.New, n.secret)
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil)[:16])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (n *HMACNonces) counter() uint64 { return uint64(n.now().UnixNano() / int64(n.step)) }

// Nonce implements Nonces.
func (n *HMACNonces) Nonce() string { return n.make(n.counter()) }

// Valid implements Nonces: the nonce of this step or of the one before.
func (n *HMACNonces) Valid(nonce string) bool {
	c := n.counter()
	for _, k := range []uint64{c, c - 1} {
		if hmac.Equal([]byte(nonce), []byte(n.make(k))) {
			return true
		}
	}
	return false
}
