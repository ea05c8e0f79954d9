package event

import (
	"crypto/rand"
	"crypto/sha256"
	"math/big"
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ClickIDLen is the length of a click id in characters.
const ClickIDLen = 16

// EventIDLen is the number of base62 characters after the "evt_" prefix.
const EventIDLen = 25

// NewClickID returns a random 16-character base62 click id from crypto/rand,
// about 95 bits of entropy.
func NewClickID() string {
	var raw [ClickIDLen]byte
	var out [ClickIDLen]byte
	// Rejection sampling keeps the distribution uniform: bytes >= 248 are
	// redrawn because 248 is the largest multiple of 62 below 256.
	for i := 0; i < ClickIDLen; {
		if _, err := rand.Read(raw[:]); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range raw {
			if b >= 248 {
				continue
			}
			out[i] = base62Alphabet[b%62]
			i++
			if i == ClickIDLen {
				break
			}
		}
	}
	return string(out[:])
}

// ValidClickID reports whether s is 16 base62 characters.
func ValidClickID(s string) bool {
	if len(s) != ClickIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// EventID derives the webhook event id from the click id, the webhook id and
// the event type, so that processing the same hit again yields the same id
// and receivers can drop the repeat.
func EventID(clickID, webhookID, eventType string) string {
	h := sha256.New()
	h.Write([]byte(clickID))
	h.Write([]byte{0})
	h.Write([]byte(webhookID))
	h.Write([]byte{0})
	h.Write([]byte(eventType))
	sum := h.Sum(nil)

	n := new(big.Int).SetBytes(sum)
	base := big.NewInt(62)
	mod := new(big.Int)
	out := make([]byte, EventIDLen)
	for i := EventIDLen - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62Alphabet[mod.Int64()]
	}
	return "evt_" + string(out)
}
