// Package registry is the name → extension table that carrier adapters
// and SMS providers register into from their packages' init functions
// (caddy's modules, dex's connectors): one implementation of the locking,
// the duplicate check and the sorted listings for both.
package registry

import (
	"fmt"
	"slices"
	"sync"
)

// Set maps names to registrations of one kind. The zero Set is not usable;
// make one with New. It is safe for concurrent use.
type Set[T any] struct {
	kind string // "carrier adapter", "SMS provider": for panics
	mu   sync.RWMutex
	m    map[string]T
}

// New returns an empty set of registrations of kind.
func New[T any](kind string) *Set[T] { return &Set[T]{kind: kind, m: map[string]T{}} }

// Add registers v under name; a name registered twice panics, as a
// programming error.
func (s *Set[T]) Add(name string, v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.m[name]; dup {
		panic(fmt.Sprintf("%s %q registered twice", s.kind, name))
	}
	s.m[name] = v
}

// Names lists the registered names, sorted.
func (s *Set[T]) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.m))
	for n := range s.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// All returns every registration, sorted by name.
func (s *Set[T]) All() []T {
	names := s.Names()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]T, 0, len(names))
	for _, n := range names {
		out = append(out, s.m[n])
	}
	return out
}
