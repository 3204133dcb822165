package dpop

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayStore remembers the proofs seen, so that each is accepted once.
// MemoryStore is the default; a Redis store shares it between replicas.
type ReplayStore interface {
	// CheckAndSet records key until expires and reports whether it is new:
	// atomically, so that of any number of concurrent calls with one key
	// (across every replica sharing the store) exactly one returns true. An
	// error means the store could not answer; the proof is then refused.
	CheckAndSet(ctx context.Context, key string, expires time.Time) (bool, error)
}

// DefaultMemoryEntries bounds a MemoryStore when its size is zero: about 16
// MiB, room for over 4,000 proofs a second for the default 65 s window.
const DefaultMemoryEntries = 256 << 10

// ErrStoreFull is returned by a MemoryStore that holds as many unexpired
// proofs as it may: rather than forget one (and let it be replayed), it
// refuses new ones until old ones expire.
var ErrStoreFull = errors.New("dpop: replay store full")

// MemoryStore is a bounded, in-process ReplayStore: right for one replica
// only (a proof used at one replica is unknown to another). Safe for
// concurrent use.
type MemoryStore struct {
	now    func() time.Time
	shards [16]shard
	limit  int // per shard
}

type shard struct {
	mu      sync.Mutex
	entries map[string]time.Time
	sweepAt int // sweep expired entries when the map reaches this size
}

// NewMemoryStore returns a MemoryStore holding at most entries unexpired
// proofs (zero: DefaultMemoryEntries), on the clock now (nil: time.Now).
func NewMemoryStore(entries int, now func() time.Time) *MemoryStore {
	if entries <= 0 {
		entries = DefaultMemoryEntries
	}
	if now == nil {
		now = time.Now
	}
	s := &MemoryStore{now: now, limit: max(entries/len(MemoryStore{}.shards), 1)}
	for i := range s.shards {
		s.shards[i].entries = map[string]time.Time{}
		s.shards[i].sweepAt = min(1024, s.limit)
	}
	return s
}

// CheckAndSet implements ReplayStore.
func (s *MemoryStore) CheckAndSet(_ context.Context, key string, expires time.Time) (bool, error) {
	var h uint32 = 2166136261
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	sh := &s.shards[h%uint32(len(s.shards))]
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if exp, ok := sh.entries[key]; ok && now.Before(exp) {
		return false, nil
	}
	if len(sh.entries) >= sh.sweepAt {
		for k, exp := range sh.entries {
			if !now.Before(exp) {
				delete(sh.entries, k)
			}
		}
		sh.sweepAt = min(max(2*len(sh.entries), 1024), s.limit)
		if len(sh.entries) >= s.limit {
			return false, ErrStoreFull
		}
	}
	sh.entries[key] = expires
	return true, nil
}

// Len returns the number of proofs held (expired ones not yet swept
// included).
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.Lock()
		n += len(s.shards[i].entries)
		s.shards[i].mu.Unlock()
	}
	return n
}
