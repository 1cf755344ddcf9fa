package flag

// Semantic versions (semver.org 2.0.0), parsed and compared without allocating: the evaluator compares a
// context's version string against pre-parsed clause values on every evaluation.

// Semver is a parsed semantic version. It keeps the original string; Pre is a slice of it.
type Semver struct {
	Major, Minor, Patch uint64
	Pre                 string // pre-release identifiers without the leading '-', "" for a release
}

// ParseSemver parses "MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]". A leading "v" is accepted, as are the short forms
// "MAJOR" and "MAJOR.MINOR" (missing parts are 0), since app versions in the wild are often written that way.
func ParseSemver(s string) (Semver, bool) {
	var v Semver
	if len(s) > 0 && s[0] == 'v' {
		s = s[1:]
	}
	var ok bool
	if v.Major, s, ok = semverNum(s); !ok {
		return Semver{}, false
	}
	if len(s) > 0 && s[0] == '.' {
		if v.Minor, s, ok = semverNum(s[1:]); !ok {
			return Semver{}, false
		}
		if len(s) > 0 && s[0] == '.' {
			if v.Patch, s, ok = semverNum(s[1:]); !ok {
				return Semver{}, false
			}
		}
	}
	if len(s) > 0 && s[0] == '-' {
		end := len(s)
		for i := 1; i < len(s); i++ {
			if s[i] == '+' {
				end = i
				break
			}
		}
		v.Pre = s[1:end]
		if !validIdents(v.Pre, true) {
			return Semver{}, false
		}
		s = s[end:]
	}
	if len(s) > 0 {
		if s[0] != '+' || !validIdents(s[1:], false) {
			return Semver{}, false
		}
	}
	return v, true
}

func semverNum(s string) (uint64, string, bool) {
	i := 0
	var n uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n > (1<<63)/10 {
			return 0, s, false
		}
		n = n*10 + uint64(s[i]-'0')
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return 0, s, false
	}
	return n, s[i:], true
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; pre-release numeric identifiers may not have
// leading zeros.
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
			continue
		}
		id := s[start:i]
		if id == "" {
			return false
		}
		if pre && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return false
		}
		start = i + 1
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Compare returns -1, 0 or +1 as v sorts before, with or after w under semver precedence (build metadata is
// ignored; a pre-release sorts before its release).
func (v Semver) Compare(w Semver) int {
	if c := cmpUint(v.Major, w.Major); c != 0 {
		return c
	}
	if c := cmpUint(v.Minor, w.Minor); c != 0 {
		return c
	}
	if c := cmpUint(v.Patch, w.Patch); c != 0 {
		return c
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	}
	a, b := v.Pre, w.Pre
	for {
		var x, y string
		x, a = nextIdent(a)
		y, b = nextIdent(b)
		if x == "" || y == "" {
			switch {
			case x == "" && y == "":
				return 0
			case x == "":
				return -1
			default:
				return 1
			}
		}
		if c := cmpIdent(x, y); c != 0 {
			return c
		}
	}
}

func nextIdent(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func cmpIdent(x, y string) int {
	xn, yn := allDigits(x), allDigits(y)
	switch {
	case xn && yn:
		if len(x) != len(y) {
			return cmpInt(len(x), len(y))
		}
	case xn:
		return -1
	case yn:
		return 1
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt(a, b int) int { return cmpUint(uint64(a), uint64(b)) }
