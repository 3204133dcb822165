package jwks

import (
	"testing"
	"time"
)

func TestCacheControlMaxAgeWithinBounds(t *testing.T) {
	s := &Source{cfg: (Config{RefreshInterval: 15 * time.Minute,
		MinRefreshInterval: time.Minute, MaxRefreshInterval: time.Hour}).withDefaults()}
	for _, tc := range []struct {
		name, cc string
		want     time.Duration
	}{
		{"absent_uses_refresh_interval", "", 15 * time.Minute},
		{"max_age_used", "public, max-age=600", 10 * time.Minute},
		{"max_age_case_insensitive", "Max-Age=600", 10 * time.Minute},
		{"below_min_clamped", "max-age=5", time.Minute},
		{"zero_clamped_to_min", "max-age=0", time.Minute},
		{"above_max_clamped", "max-age=86400", time.Hour},
		{"huge_clamped_without_overflow", "max-age=99999999999999999", time.Hour},
		{"overflowing_int64_ignored", "max-age=999999999999999999999", 15 * time.Minute},
		{"negative_ignored", "max-age=-5", 15 * time.Minute},
		{"garbage_ignored", "max-age=soon", 15 * time.Minute},
		{"no_store_without_max_age_uses_interval", "no-store", 15 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.interval(tc.cc); got != tc.want {
				t.Fatalf("interval(%q) = %v, want %v", tc.cc, got, tc.want)
			}
		})
	}
}
