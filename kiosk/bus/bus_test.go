package bus

import (
	"testing"
	"time"
)

func TestFanOutInOrder(t *testing.T) {
	b := New()
	s1, s2 := b.Subscribe(8), b.Subscribe(8)
	for i := 0; i < 3; i++ {
		b.Publish("card.inserted", time.Unix(int64(i), 0), i)
	}
	for _, s := range []*Subscription{s1, s2} {
		for i := 0; i < 3; i++ {
			ev := <-s.C
			if ev.Seq != uint64(i+1) || ev.Data != i {
				t.Fatalf("event %d: got seq %d data %v, want seq %d data %d", i, ev.Seq, ev.Data, i+1, i)
			}
		}
	}
}

func TestSlowSubscriberIsDroppedNotBlocking(t *testing.T) {
	b := New()
	slow := b.Subscribe(1)
	fast := b.Subscribe(16)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10; i++ {
			b.Publish("drawer.opened", time.Now(), nil)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}
	if !slow.Dropped() {
		t.Error("slow subscriber not marked dropped")
	}
	n := 0
	for range slow.C { // closed after its one buffered event
		n++
	}
	if n != 1 {
		t.Errorf("slow subscriber got %d events before drop, want 1", n)
	}
	if len(fast.C) != 10 {
		t.Errorf("fast subscriber has %d events, want 10", len(fast.C))
	}
	if got := b.DroppedTotal(); got != 1 {
		t.Errorf("DroppedTotal = %d, want 1", got)
	}
	if got := b.Subscribers(); got != 1 {
		t.Errorf("Subscribers = %d, want 1", got)
	}
}

func TestCloseTwiceAndAfterDrop(t *testing.T) {
	b := New()
	s := b.Subscribe(1)
	b.Publish("a", time.Now(), nil)
	b.Publish("b", time.Now(), nil) // drops s
	s.Close()
	s.Close()
	if b.Subscribers() != 0 {
		t.Fatalf("Subscribers = %d, want 0", b.Subscribers())
	}
}
