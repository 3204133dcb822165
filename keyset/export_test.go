package keyset

// SmallOrderEncodings exposes the blocklist to the tests.
func SmallOrderEncodings() [][]byte {
	out := make([][]byte, len(smallOrder))
	for i := range smallOrder {
		out[i] = smallOrder[i][:]
	}
	return out
}
