package redisstore_test

import (
	"net"
	"testing"
	"time"

	"github.com/clientcasa/oauthguard/dpop"
	"github.com/redis/go-redis/v9"
)

// blackhole returns the address of a listener that accepts connections and
// never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func redisZ(until time.Time, doc []byte) redis.Z {
	return redis.Z{Score: float64(until.UnixMilli()), Member: string(doc)}
}

func newMemory() *dpop.MemoryStore { return dpop.NewMemoryStore(1<<22, nil) }
