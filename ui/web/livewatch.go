package web

// LiveWatchScript is the live view's watch (livewatch.js: whether a view's
// picture is live, and the wait before a new session), which the operator
// page serves too.
func LiveWatchScript() []byte {
	b, err := assets.ReadFile("assets/livewatch.js")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	return b
}
