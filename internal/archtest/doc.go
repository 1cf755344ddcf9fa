// Package archtest holds no code, only a test that keeps the dependency arrows of the module pointing the way
// ARCHITECTURE (the README's architecture section) says they point.
package archtest
