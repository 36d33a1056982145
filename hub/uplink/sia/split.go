package sia

import "bytes"

// SplitFrames is a bufio.SplitFunc that cuts a byte stream, such as a TCP connection
// carrying several frames, into frames for Decode. It handles frames split over
// several reads and several frames in one read.
//
// A frame runs from LF to the next CR; the search for the CR starts after the CRC,
// so a CRC sent as two raw bytes may contain CR or LF. NUL, CR, space and tab
// between frames are skipped. Anything else outside a frame — bytes before an LF, or
// a frame cut short by the LF of the next one — comes back as a token of its own,
// which Decode rejects with ErrFormat; so a caller sees garbage, can log it, and
// goes on with the next frame. No token is longer than MaxFrame.
func SplitFrames(data []byte, atEOF bool) (advance int, token []byte, err error) {
	// A nil token with a positive advance makes bufio.Scanner read more before it
	// calls again, so skip everything skippable here and return a token whenever the
	// buffer holds one.
	i := 0
	for {
		for i < len(data) && (data[i] == 0 || data[i] == '\r' || data[i] == ' ' || data[i] == '\t') {
			i++
		}
		d := data[i:]
		if len(d) == 0 {
			return i, nil, nil
		}
		if d[0] != '\n' {
			j := bytes.IndexByte(d, '\n')
			switch {
			case j > MaxFrame || j < 0 && len(d) >= MaxFrame:
				return i + MaxFrame, d[:MaxFrame], nil
			case j >= 0:
				return i + j, d[:j], nil
			case atEOF:
				return len(data), d, nil
			}
			return i, nil, nil
		}
		// A frame: "\n" CRC(4 hex or 2 raw bytes) "0LLL" '"'…
		if len(d) < 8 && !atEOF {
			return i, nil, nil // too short to tell where the CRC ends
		}
		from := 1
		if len(d) >= 8 && allHex(d[3:7]) && d[7] == '"' {
			from = 3 // raw CRC in d[1:3]
		}
		k := bytes.IndexAny(d[from:], "\r\n")
		if k < 0 {
			if len(d) >= MaxFrame {
				return i + MaxFrame, d[:MaxFrame], nil
			}
			if atEOF {
				return len(data), d, nil
			}
			return i, nil, nil
		}
		end := from + k
		if end >= MaxFrame {
			return i + MaxFrame, d[:MaxFrame], nil
		}
		if d[end] == '\n' {
			// The next frame starts before this one ended.
			if end == 1 {
				i++ // a lone LF
				continue
			}
			return i + end, d[:end], nil
		}
		return i + end + 1, d[:end+1], nil
	}
}
