#!/usr/bin/env bash
# Regenerates demov1's Go code from demo.proto (checked in; the tests do not run this).
# Made with protoc 3.21.12 (Debian's protobuf-compiler), protoc-gen-go v1.36.12 and
# protoc-gen-go-grpc v1.6.0:
#   apt-get install protobuf-compiler
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
set -euo pipefail
cd "$(dirname "$0")/demov1"
protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative demo.proto
