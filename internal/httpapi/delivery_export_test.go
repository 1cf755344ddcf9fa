package httpapi

// SetStreamEventHook makes every stream call f before it handles a broker event (nil removes it): tests use it
// to hold a stream still while the broker overflows its subscription.
func SetStreamEventHook(f func()) {
	if f == nil {
		testHookStreamEvent.Store(nil)
		return
	}
	testHookStreamEvent.Store(&f)
}
