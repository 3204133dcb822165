// Package promtext reads the Prometheus text exposition format, for tests
// that assert what an exporter serves: samples by name and labels.
package promtext

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// Sample is one line of a scrape.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Samples is a parsed scrape.
type Samples []Sample

// Parse reads every sample of a text-format scrape; comments are skipped.
func Parse(text string) (Samples, error) {
	var out Samples
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("promtext: line %d: %w: %q", n, err, line)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseLine(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no value")
	}
	s.Name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, ", ")
			if strings.HasPrefix(line, "}") {
				line = line[1:]
				break
			}
			eq := strings.Index(line, "=")
			if eq <= 0 || len(line) < eq+2 || line[eq+1] != '"' {
				return s, fmt.Errorf("bad label")
			}
			name := line[:eq]
			rest := line[eq+1:]
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				return s, fmt.Errorf("unterminated label value")
			}
			v, err := strconv.Unquote(rest[:end+1])
			if err != nil {
				return s, err
			}
			s.Labels[name] = v
			line = rest[end+1:]
		}
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, err
	}
	s.Value = v
	return s, nil
}

// Sum adds the values of the samples named name whose labels include
// every pair of match (a label absent from a sample matches "").
func (ss Samples) Sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, s := range ss.Match(name, match) {
		total += s.Value
	}
	return total
}

// Match returns the samples named name whose labels include match's.
func (ss Samples) Match(name string, match map[string]string) Samples {
	var out Samples
next:
	for _, s := range ss {
		if s.Name != name {
			continue
		}
		for k, v := range match {
			if s.Labels[k] != v {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// Values returns the distinct values of label among the samples named name.
func (ss Samples) Values(name, label string) map[string]bool {
	out := map[string]bool{}
	for _, s := range ss.Match(name, nil) {
		out[s.Labels[label]] = true
	}
	return out
}
