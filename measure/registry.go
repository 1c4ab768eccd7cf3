package measure

// Meter kinds accepted by [MeterOptions.Kind].
const (
	KindAuto    = "auto"
	KindINA3221 = "ina3221"
	KindRAPL    = "rapl"
	KindNone    = "none"
)

// meterKind is one registered meter implementation.
type meterKind struct {
	name string
	// open returns the meter, or an error naming the missing file.
	open func(MeterOptions) (Meter, error)
}

// meterKinds is the one list of meter implementations, in the order auto
// detection tries them: the board's own power monitors first (they see the
// whole module, as in the paper), then the CPU package counters, then the
// meter that measures nothing. A new meter is added here and nowhere else;
// the conformance test runs every entry.
func meterKinds() []meterKind {
	return []meterKind{
		{name: KindINA3221, open: func(o MeterOptions) (Meter, error) { return NewINA3221(o) }},
		{name: KindRAPL, open: func(o MeterOptions) (Meter, error) { return NewRAPL(o) }},
		{name: KindNone, open: func(MeterOptions) (Meter, error) { return NewNone(), nil }},
	}
}

// MeterKinds lists the registered meter kinds in detection order.
func MeterKinds() []string {
	ks := meterKinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	return names
}
