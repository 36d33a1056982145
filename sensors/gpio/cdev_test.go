//go:build linux

package gpio

import (
	"errors"
	"os"
	"testing"
)

// The character-device path against a chip whose lines the test may use (a
// gpio-sim chip: see the VM recipe), named by VAKT_GPIO_TEST_CHIP. Real header
// lines are never touched by tests.
func TestCdevRequest(t *testing.T) {
	chip := os.Getenv("VAKT_GPIO_TEST_CHIP")
	if chip == "" {
		t.Skip("needs a GPIO chip free for tests (gpio-sim), named by VAKT_GPIO_TEST_CHIP; none here")
	}
	out, err := Cdev{}.Request(Request{Chip: chip, Line: "0", Consumer: "vakt-test", Output: true, ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, want := range []bool{true, false, true} {
		if err := out.Set(want); err != nil {
			t.Fatal(err)
		}
		if got, err := out.Value(); err != nil || got != want {
			t.Fatalf("read-back %v, %v; want %v", got, err, want)
		}
	}
	if _, err := (Cdev{}).Request(Request{Chip: chip, Line: "0", Consumer: "vakt-test"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second request of a line: %v, want ErrBusy", err)
	}
	if _, err := (Cdev{}).Request(Request{Chip: chip, Line: "100000"}); !errors.Is(err, ErrNoLine) {
		t.Fatalf("line out of range: %v, want ErrNoLine", err)
	}
	in, err := Cdev{}.Request(Request{Chip: chip, Line: "1", Consumer: "vakt-test", Bias: BiasPullUp,
		Debounce: DefaultDebounce, OnEdge: func(bool) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if got, err := in.Value(); err != nil || !got {
		t.Fatalf("pulled-up input reads %v, %v; want high", got, err)
	}
}
