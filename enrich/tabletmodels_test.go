package enrich

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tabletModelExamples are models of each scheme in tabletmodels.go.
var tabletModelExamples = []string{
	"SM-T510", "SM-X200", "GT-P5110", "GT-N5100", "KFTRWI", "KFAPWI",
	"Lenovo TB-X505F", "TB2-X30F", "YT3-X50F", "AGS2-W09", "BAH2-L09", "SHT-AL09",
	"KOB-L09", "T1-701u", "K013", "P01M", "ASUS_P00C", "TF300T", "ME173X",
	"B1-730HD", "A1-840FHD", "A3-A40", "LG-V500", "LG-V909", "MZ604", "BNTV400",
	"PMT5001", "A101IT", "A80KSC", "AN10BG3", "AN7G2DTE", "one touch T10",
	"ALCATEL ONE TOUCH P310X", "9003X", "8063", "9027W", "MITO T330", "Novo7 Flame",
	"Numy_3G_AX3", "AllviewCityPlus", "ALLVIEW SPEEDI", "CW-V88-QUAD", "Hi10 pro",
	"HiBook pro", "AP-719", "ETL-T970", "RC0710B", "QS9718C", "VM1017A", "3Q_ER71B",
	"Positivo Ypy L1050E", "Nexus 7", "Pixel C", "SGP311", "M7-3G-PLUS", "M7SQC_Plus",
	"M10 4G",
}

// phoneModelExamples are phones whose names resemble a tablet scheme.
var phoneModelExamples = []string{
	"SM-A536B", "SM-S918B", "GT-I9300", "Pixel 8", "XT1080M", "XT1068", "A110",
	"A90s", "A97i", "LG-VS980", "LG-H815", "Coolpad 7295", "HTC Pyramid", "5033D",
	"6039Y", "8050D", "9001X", "9008X", "MITO A16", "AS-5421", "ETL-S5042", "MS50G",
	"P6_Energy", "X2_Soul", "CPH2449", "GM1913", "M2007J20CG", "TA-1053", "J9110",
	"vivo 1606", "ZB602KL", "Redmi Note 8 Pro", "M7", "M8 Pro", "MS60X", "M5 Note",
}

// isTabletModelAlone runs isTabletModel on a model as if it were the whole
// user agent.
func isTabletModelAlone(t *testing.T, bots *botClassifier, model string) bool {
	t.Helper()
	found, _ := bots.scan(model)
	return isTabletModel(strings.ToLower(model), &found)
}

// TestTabletModels checks each vendor scheme of tabletmodels.go on a model
// of the family and on phones of the same or a similar name.
func TestTabletModels(t *testing.T) {
	bots, err := newBotClassifier()
	require.NoError(t, err)

	for _, model := range tabletModelExamples {
		require.Truef(t, isTabletModelAlone(t, bots, model), "%s is a tablet", model)
	}
	for _, model := range phoneModelExamples {
		require.Falsef(t, isTabletModelAlone(t, bots, model), "%s is a phone", model)
	}
}

// TestTabletCodesByFirstByte checks that looking codes up by the first byte
// of the model matches exactly the models that all codes together match.
func TestTabletCodesByFirstByte(t *testing.T) {
	var codes []string
	for _, c := range tabletModelCodes {
		codes = append(codes, c.code)
	}
	all := regexp.MustCompile(`^(?:` + strings.Join(codes, "|") + `)`)

	for _, model := range append(tabletModelExamples, phoneModelExamples...) {
		lower := strings.ToLower(model)
		want := all.MatchString(lower)
		re := tabletCodesByFirstByte[lower[0]]
		got := re != nil && re.MatchString(lower)
		require.Equalf(t, want, got, "model %s", model)
	}
}

func TestFirstBytes(t *testing.T) {
	set := firstBytes(`(lenovo[ _])?(tb|yt)\d?-`)
	require.True(t, set['l'])
	require.True(t, set['t'])
	require.True(t, set['y'])
	require.False(t, set['a'])

	set = firstBytes(`[ab]1-\d{3}|a3-a\d\d`)
	require.True(t, set['a'])
	require.True(t, set['b'])
	require.False(t, set['c'])

	set = firstBytes(`x?`)
	require.True(t, set['z'], "a pattern that matches the empty string starts with any byte")
}

// TestTabletModelBeforeMobileToken checks that a tablet model decides
// before the phone's "Mobile" token and before the Dalvik client rule.
func TestTabletModelBeforeMobileToken(t *testing.T) {
	tests := []struct {
		name   string
		ua     string
		device string
	}{
		{
			name:   "stock browser sending mobile",
			ua:     "Mozilla/5.0 (Linux; U; Android 4.0.3; ru-ru; RC0710B Build/IML74K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
			device: "Tablet",
		},
		{
			name:   "chrome sending mobile",
			ua:     "Mozilla/5.0 (Linux; Android 8.1.0; 9027X) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.132 Mobile Safari/537.36",
			device: "Tablet",
		},
		{
			name:   "dalvik app client",
			ua:     "Dalvik/1.6.0 (Linux; U; Android 4.1.2; MITO T330 Build/JZO54K)",
			device: "Tablet",
		},
		{
			name:   "comment without parentheses",
			ua:     "Dalvik/1.6.0 Linux; U; Android 4.2.2; AP-727G Build/JDQ39",
			device: "Tablet",
		},
		{
			name:   "uc browser adr item",
			ua:     "UCWEB/2.0 (Linux; U; Adr 4.0.3; fr-FR; Transformer TF101) U2/1.0.0 UCBrowser/9.2.0.308 U2/1.0.0 Mobile",
			device: "Tablet",
		},
		{
			name:   "chuwi hibook is no laptop",
			ua:     "Mozilla/5.0 (Linux; Android 5.1; HiBook pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.93 Safari/537.36",
			device: "Tablet",
		},
		{
			name:   "coolpad phone",
			ua:     "Mozilla/5.0 (Linux; U; Android 4.0.4; zh-cn; Coolpad 7295 Build/IMM76D) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
			device: "Mobile",
		},
		{
			name:   "motorola phone with a screen-size-like code",
			ua:     "Mozilla/5.0 (Linux; Android 4.4.4; XT1080M Build/SU6-7.3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/44.0.2403.133 Mobile Safari/537.36",
			device: "Mobile",
		},
		{
			name:   "alcatel phone",
			ua:     "Mozilla/5.0 (Linux; Android 8.1.0; 5033D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/80.0.3987.99 Mobile Safari/537.36",
			device: "Mobile",
		},
	}

	e := newTestEnricher(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.device, e.Enrich(testHit(tt.ua)).Device)
		})
	}
}

func TestModelBeforeBuild(t *testing.T) {
	require.Equal(t, "ETL-T970", modelBeforeBuild("Mozilla/5.0 Linux; U; Android 4.1.1; en-US; ETL-T970 Build/ETL-T970 AppleWebKit/537.36"))
	require.Equal(t, "QS0716D", modelBeforeBuild("Android 4.0.3;AppleWebKit/534.30;Build/IML74K;QS0716D Build/IML74K"))
	require.Empty(t, modelBeforeBuild("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/121.0"))
	require.Empty(t, modelBeforeBuild("Model Build/1"))
}
