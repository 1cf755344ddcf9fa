// Package eval compiles a flag set into an immutable [Snapshot] and evaluates flags against contexts.
//
// It imports only the domain model (package flag) and hash functions (xxHash for ramp's splits, MurmurHash3 for
// flagd's fractional). It does no I/O, takes no locks, logs nothing and does not allocate on the evaluation path;
// a test and the *NoAlloc benchmarks hold it there.
//
// # Why it is written this way
//
// Evaluation runs on every request of every service that uses ramp, so all the work that can be done once is
// done in [Compile], when a flag changes, never in [Snapshot.Evaluate]:
//   - attribute paths are split into segments;
//   - clause values are sorted by type: strings into a short slice or, past a handful, a hash set; numbers into
//     float64s; semantic versions and dates parsed; regular expressions compiled;
//   - targets become hash sets (constant time for 100,000 ids);
//   - each split's salt is hashed into a prefix state, and its weights become cumulative bucket bounds;
//   - variations are boxed into their interface values, and fully static results (disabled flags, flags with no
//     targeting) are precomputed whole;
//   - flagd targeting expressions (JsonLogic) are compiled into node trees with constant parts folded
//     (jsonlogic.go); evaluation walks them with the context in place, never through JSON.
//
// Evaluation then walks this data with the context on the stack. Errors are codes in the returned
// [flag.Detail], never error values. Updating flags means compiling a new Snapshot and swapping a pointer
// (atomic.Pointer) in the caller; a Snapshot is safe for any number of concurrent readers.
package eval
