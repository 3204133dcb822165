package middleware

// Internals the external tests reach (this file is compiled only in tests).
var (
	FastBearer       = fastBearer
	SplitCredentials = splitCredentials
)
