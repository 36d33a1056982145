package sia

// CRC returns the CRC-16/ARC of p: polynomial 0x8005 processed bit-reversed
// (0xA001), initial value 0, input and output reflected, no final XOR. DC-09 frames
// carry it over the body. Its check value, the CRC of "123456789", is 0xBB3D.
func CRC(p []byte) uint16 {
	var c uint16
	for _, b := range p {
		c ^= uint16(b)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return c
}
