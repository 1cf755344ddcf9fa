package load

import (
	"strings"

	"github.com/ramphq/ramp/load/netsim"
)

// networkProfile finds a profile of the plan, or a preset of load/netsim.
func (p *Plan) networkProfile(name string) (NetworkProfile, bool) {
	if n, ok := p.Networks[name]; ok {
		return n, true
	}
	if s, ok := netsim.Presets[name]; ok {
		return NetworkProfile{Latency: Duration(s.Latency), Jitter: Duration(s.Jitter), DownKbps: s.DownKbps, UpKbps: s.UpKbps, ResetRate: s.ResetRate}, true
	}
	return NetworkProfile{}, false
}

func presetNames() string { return strings.Join(netsim.PresetNames(), ", ") }
