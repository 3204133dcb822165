// Package redistest starts real redis-server processes for the tests: on
// 127.0.0.1, on a free port, with no persistence (an empty database on
// every start), killed when the test binary exits. Debian's redis-server
// is installed by install.sh when missing.
package redistest
