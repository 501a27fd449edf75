package codepipeline

import "sync"

// stateCache keeps the last GetPipelineState answer of each pipeline until a
// commit changes the pipeline. A generation counter is read before the
// answer is built, so an answer built from a snapshot older than a change is
// never served after it.
type stateCache struct {
	mu      sync.Mutex
	gen     map[string]uint64
	answers map[string]cachedState
}

type cachedState struct {
	gen uint64
	val any
}

func (c *stateCache) init() {
	c.gen = map[string]uint64{}
	c.answers = map[string]cachedState{}
}

// generation returns the pipeline's current generation.
func (c *stateCache) generation(p string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[p]
}

// get returns the cached answer when it is still current.
func (c *stateCache) get(p string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.answers[p]
	if !ok || a.gen != c.gen[p] {
		return nil, false
	}
	return a.val, true
}

// put keeps an answer built at generation gen.
func (c *stateCache) put(p string, gen uint64, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen[p] {
		c.answers[p] = cachedState{gen: gen, val: v}
	}
}

// invalidate marks every cached answer of the pipeline stale.
func (c *stateCache) invalidate(p string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[p]++
	delete(c.answers, p)
}
