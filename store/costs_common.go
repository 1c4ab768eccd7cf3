package store

import "slices"

// CommonThreads picks the thread count at which every named model has a
// cost row, so latencies compared across models come from one setting: 1
// when every model was timed single-threaded, else the smallest complete
// count. It returns each model's row at that count; ok is false when no
// thread count covers every model.
func CommonThreads(rows []CostRow, models []string) (threads int, byModel map[string]CostRow, ok bool) {
	by := map[int]map[string]CostRow{}
	for _, c := range rows {
		if by[c.Threads] == nil {
			by[c.Threads] = map[string]CostRow{}
		}
		by[c.Threads][c.Model] = c
	}
	var full []int
	for th, m := range by {
		complete := true
		for _, name := range models {
			if _, have := m[name]; !have {
				complete = false
				break
			}
		}
		if complete {
			full = append(full, th)
		}
	}
	if len(full) == 0 {
		return 0, nil, false
	}
	slices.Sort(full)
	th := full[0]
	if slices.Contains(full, 1) {
		th = 1
	}
	return th, by[th], true
}
