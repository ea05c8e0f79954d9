package enrich

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// Tablet model rules. Android user agents name the device model ("SM-T510",
// "KFTRWI", "RC0710B"). Many tablets send a phone's "Mobile" token anyway,
// among them the stock browser of Android 4 and earlier on cheap tablets
// and UC Browser, and Dalvik app clients send no browser token at all. The
// rules below recognise tablets by how vendors name them, and
// androidDevice applies them before the "Mobile" token decides.
// VOCABULARY.md lists the vendors, the schemes and their sources.

// tabletModelWords are lower-case words that mark a tablet wherever they
// occur in the model. They are "tablet", "tab" and "pad" (Galaxy Tab,
// MediaPad, MatePad, ZenPad, Xiaomi Pad), "MID" (Mobile Internet Device)
// and product lines that are tablets only. The rest are the model prefixes
// of Samsung (SM-T, SM-P, SM-X, GT-P, GT-N5100, GT-N8000), Sony (SGP),
// Acer (A1-, B1-) and Lenovo (IdeaPad A1-).
var tabletModelWords = []string{
	"tablet", "tab", "pad", "mid", "kindle", "xoom", "transformer", "slate",
	"archos", "arnova", "iconia", "iplay", "pixel c", "nexus 7", "nexus 9",
	"nexus 10", "venue", "playbook", "numy", "ypy", "hibook", "boox", "nook",
	"sm-t", "sm-p", "sm-x", "gt-p", "gt-n80", "gt-n51", "sgp", "a1-", "b1-",
}

// phoneNamesWithTabletWords are phone names that contain one of
// tabletModelWords: the Coolpad brand and the code name of HTC's
// Sensation (Pyramid).
var phoneNamesWithTabletWords = []string{"coolpad", "pyramid"}

// tabletModelCodes are the model code schemes of tablet makers, as regular
// expressions over the lower-case model, each anchored at its start.
var tabletModelCodes = []struct {
	vendor string
	code   string
}{
	// Fire tablets: KFOT, KFTT, KFAPWI, KFTRWI, ...
	{"Amazon", `kf[a-z]{2,5}$`},
	// Lenovo Tab and Yoga Tab: TB-X505F, TB2-X30F, YT3-X50F, YT-X705F.
	{"Lenovo", `(lenovo[ _])?(tb|yt)\d?-`},
	// MediaPad and MatePad: AGS2-W09, BAH-L09, BTV-DL09, CMR-AL09,
	// SHT-W09, KOB-L09, MRX-W09, DBY-W09, ... and the older S7-301u,
	// S8-701w, M2-801L and T1-701u.
	{"Huawei", `(ags\d?|bah\d?|btv|cmr|scm|sht|vrd|cpn|kob\d?|bg2|mrx|dby\d?|agr|krj|jdn\d?)-[a-z]{0,2}\d\d`},
	{"Huawei", `(s7|s8|m2|t1)-[a-z]?\d{2,3}[a-z]?$`},
	// ZenPad and MeMO Pad codes K00x, K01x, P00x, P01x, P02x; Transformer
	// TF101 to TF701T; MeMO Pad ME173X, ME302C, ...
	{"Asus", `(asus[ _])?(k0[01][0-9a-z]|p0[0-2][0-9a-z])$`},
	{"Asus", `(asus[ _])?(tf\d{3}[a-z]{0,2}|me\d{3}[a-z]{1,2})$`},
	// Iconia Tab 10: A3-A10 to A3-A40. The Iconia Tab A100 to A701 are
	// left out because Micromax names phones the same.
	{"Acer", `a3-a\d\d`},
	// LG G Pad (LG-V400 to LG-V700) and Optimus Pad (LG-V900 to V909).
	// LG's Verizon phones are LG-VS and LG-VM.
	{"LG", `lg-v([4-7]\d\d|90\d)`},
	// Motorola Xoom: MZ601 to MZ617.
	{"Motorola", `mz6\d\d`},
	// Barnes & Noble Nook tablets: BNTV250, BNRV200, ...
	{"Barnes & Noble", `bn[rt]v\d{3}`},
	// Prestigio MultiPad: PMT3057, PMT5001, ... Its phones are PSP.
	{"Prestigio", `pmt\d{3,4}`},
	// Archos and Arnova internet tablets: A70S, A101IT, A80KSC, A101B,
	// and Arnova's AN + screen size + variant + generation (AN7G2,
	// AN10BG3, AN9G2I). A90 and A97 are left out: Micromax and Celkon
	// phones use them (A90s, A97i).
	{"Archos", `a(70|80|101)[a-z]`},
	{"Archos", `an\d{1,2}[a-z]?g\d`},
	// Alcatel One Touch tablets: T10, T20, POP 7 and 8 (P310, P320),
	// EVO 7 and 8, TAB 7.
	{"Alcatel", `(alcatel[ _])?one ?touch[ _]?(t\d|p3\d\d|evo ?\d|tab)`},
	// Mito's tablets are the T series (T10, T330, T777); its phones are the
	// A series.
	{"Mito", `mito[ _-]?t\d`},
	// Ainol Novo 7 to 10 and Numy.
	{"Ainol", `(ainol[ _])?novo ?\d`},
	// Multilaser names tablets M and the screen size (M7, M9, M10A) and its
	// phones MS (MS50, MS60). Only models that go on with a radio or core
	// count (M7-3G, M7_3G_PLUS, M7SQC, M10 4G) count, because other
	// vendors sell phones named M7 or M8.
	{"Multilaser", `m(7|8|9|10)[a-z]?[-_ ]?(3g|4g|sqc|qc)`},
	// Allview's Speed, City and AX tablet lines.
	{"Allview", `allview ?(\d ?)?(speed|city|ax\d)`},
	// Chuwi's Android devices are tablets: CW-Hi10, CW-V88, Hi8 Air,
	// Vi10 Plus.
	{"Chuwi", `cw-|(hi|vi)\d{1,2}([ _-]|$)`},
	// Assistant names tablets AP-xxx and phones AS-xxxx; Etuline names
	// tablets ETL-Txxxx and phones ETL-Sxxxx.
	{"Assistant", `ap-\d{3}`},
	{"Etuline", `etl-t\d`},
	// 3Q Qoo! tablets are named with two letters of the product line, the
	// screen size in inches (07 to 13) or tenths of an inch (78, 97), two
	// digits and a revision letter: RC0710B, QS9718C, LC0901D, VM1017A.
	// Some start with the brand, as 3Q_ER71B. Motorola's phones share the
	// shape but start with XT (XT1080M).
	{"3Q", `(([a-wyz][a-z]|x[a-su-z])(0[7-9]|1[0-3]|78|97)\d\d[a-z]{1,2}$|3q[ _-])`},
}

// tabletCodesByFirstByte holds, for each byte, one regular expression of
// the tabletModelCodes whose matches can start with that byte, or nil.
// Trying all codes on every model costs about 750 ns on the corpora's
// Android models, and most models start with a byte that few codes allow.
var tabletCodesByFirstByte = func() (index [256]*regexp.Regexp) {
	var firsts [][256]bool
	for _, c := range tabletModelCodes {
		firsts = append(firsts, firstBytes(c.code))
	}

	compiled := make(map[string]*regexp.Regexp)
	for b := range index {
		var codes []string
		for i, c := range tabletModelCodes {
			if firsts[i][b] {
				codes = append(codes, c.code)
			}
		}
		if len(codes) == 0 {
			continue
		}
		expr := `^(?:` + strings.Join(codes, "|") + `)`
		if compiled[expr] == nil {
			compiled[expr] = regexp.MustCompile(expr)
		}
		index[b] = compiled[expr]
	}
	return index
}()

// firstBytes returns the set of bytes that a match of the regular
// expression expr can start with. A pattern that can match the empty
// string can start with any byte.
func firstBytes(expr string) (set [256]bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		panic(fmt.Sprintf("enrich: invalid tablet model code %q: %v", expr, err))
	}
	if addFirstBytes(re.Simplify(), &set) {
		for b := range set {
			set[b] = true
		}
	}
	return set
}

// addFirstBytes adds to set the bytes that a match of re can start with and
// reports whether re can match the empty string. Bytes of a character
// class or literal that ignores case are added as written, which is enough
// for the lower-case codes of tabletModelCodes.
func addFirstBytes(re *syntax.Regexp, set *[256]bool) bool {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return true
		}
		if r := re.Rune[0]; r < 256 {
			set[r] = true
		}
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1] && r < 256; r++ {
				set[r] = true
			}
		}
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return addFirstBytes(re.Sub[0], set)
	case syntax.OpQuest, syntax.OpStar:
		addFirstBytes(re.Sub[0], set)
		return true
	case syntax.OpRepeat:
		return addFirstBytes(re.Sub[0], set) || re.Min == 0
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !addFirstBytes(sub, set) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		empty := false
		for _, sub := range re.Sub {
			if addFirstBytes(sub, set) {
				empty = true
			}
		}
		return empty
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	// Any character.
	for b := range set {
		set[b] = true
	}
	return false
}

// isTabletModel reports whether an Android device model, in lower case, is
// named like a tablet. found holds the detector substrings of the whole
// user agent, so the words of tabletModelWords are looked for in the model
// only when one occurs somewhere in the user agent.
func isTabletModel(model string, found *foundSubstrings) bool {
	if model == "" {
		return false
	}
	if hasTabletWord(model, found) {
		return true
	}
	if re := tabletCodesByFirstByte[model[0]]; re != nil && re.MatchString(model) {
		return true
	}
	return isAlcatelTabletNumber(model)
}

func hasTabletWord(model string, found *foundSubstrings) bool {
	anywhere := false
	for _, id := range tabletWordIDs {
		if found.has(id) {
			anywhere = true
			break
		}
	}
	if !anywhere {
		return false
	}

	for _, name := range phoneNamesWithTabletWords {
		if strings.Contains(model, name) {
			model = strings.ReplaceAll(model, name, "")
		}
	}
	for _, w := range tabletModelWords {
		if strings.Contains(model, w) {
			return true
		}
	}
	return false
}

// isAlcatelTabletNumber reports whether a model is one of TCL's Alcatel
// model numbers for tablets: four digits starting with 8 or 9 and an
// optional letter for the variant (8063, 9003X, 9027W). Its phones start
// with lower digits (4034X, 5033D, 6039Y, 7040N), apart from the 6-inch
// Pixi 4 (6) and A3 XL phones 8050, 9001 and 9008.
//
// NOTE: the ranges come from the model numbers of known Alcatel devices;
// no published list of TCL's numbering was found.
func isAlcatelTabletNumber(model string) bool {
	model = strings.TrimPrefix(model, "alcatel ")
	model = strings.TrimPrefix(model, "alcatel_")
	if len(model) == 5 && isLetter(model[4]) {
		model = model[:4]
	}
	if len(model) != 4 || model[0] != '8' && model[0] != '9' {
		return false
	}
	for i := 1; i < 4; i++ {
		if !isDigit(model[i]) {
			return false
		}
	}
	switch model {
	case "8050", "9001", "9008":
		return false
	}
	return true
}
