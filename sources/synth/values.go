package synth

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// rng is splitmix64: a tiny deterministic generator used to build pools.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	return mix64(r.s)
}

// mix64 is the splitmix64 finalizer: a cheap, well-spread 64-bit hash.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// hashString is FNV-1a, used to derive per-table and per-column seeds.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func (r *rng) intn(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

// between returns an integer in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rng) chance(p float64) bool { return float64(r.next()>>11)/(1<<53) < p }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// colSpec says how to build the value pool of one column.
type colSpec struct {
	bits      int     // the pool holds 1<<bits values
	nullRate  float64 // share of NULL (nil) entries on nullable columns
	blankRate float64 // share of " " (strings) or "0" (decimals)
	draw      func(r *rng) any
}

// buildPool draws the pool of one column.
func buildPool(col pipeline.Column, spec colSpec, r *rng) []any {
	pool := make([]any, 1<<spec.bits)
	var blank any = " "
	if col.Type == pipeline.TypeDecimal {
		blank = "0"
	}
	for i := range pool {
		switch {
		case col.Nullable && spec.nullRate > 0 && r.chance(spec.nullRate):
			pool[i] = nil
		case spec.blankRate > 0 && col.Type != pipeline.TypeDateTime && col.Type != pipeline.TypeFloat && r.chance(spec.blankRate):
			pool[i] = blank
		default:
			pool[i] = spec.draw(r)
		}
	}
	return pool
}

// Word lists for realistic content.
var (
	units      = []string{"EA", "EA", "EA", "PC", "PC", "KG", "BOX", "ST", "L", "M", "SET", "CS"}
	weightUnit = []string{"KG", "KG", "KG", "G", "TO"}
	volumeUnit = []string{"M3", "L", "CCM", "M3"}
	currencies = []string{"KRW", "KRW", "KRW", "KRW", "KRW", "USD", "USD", "USD", "EUR", "EUR", "JPY", "CNY"}
	countries  = []string{"KR", "KR", "KR", "KR", "US", "US", "DE", "JP", "CN", "VN", "SG"}
	regions    = []string{"11", "26", "27", "28", "41", "48", "CA", "NY", "BY"}
	incoterms  = []string{"FOB", "CIF", "EXW", "DDP", "DAP", "CFR", "FCA"}
	incoPlaces = []string{"BUSAN", "INCHEON", "부산항", "인천항", "평택", "Hamburg", "Los Angeles", "Shanghai", "울산 공장"}
	users      = []string{"KIMJH", "LEESY", "PARKMS", "CHOIYJ", "JUNGHW", "KANGDH", "YOONSJ", "BATCH_SD", "RFC_USER", "HANMK", "SONGJW"}
	billTypes  = []string{"F2", "F2", "F2", "F1", "G2", "L2", "RE", "S1", "IV"}
	delivTypes = []string{"LF", "LF", "LF", "LO", "LR", "NL", "NLCC"}
	itemCats   = []string{"TAN", "TAN", "TAN", "TAD", "TANN", "REN", "L2N", "G2N"}
	orgCodes   = []string{"1000", "1000", "1100", "2000", "3000", "KR01", "US01"}
	logSystems = []string{"PRDCLNT100", "PRDCLNT100", "CRMCLNT100", "ECCCLNT100"}

	adjectives = []string{"고강도", "소형", "대형", "내열", "방수", "표준", "특수", "신형", "수출용", "국내용", "경량", "정밀"}
	nouns      = []string{"볼트", "너트", "와셔", "베어링", "파이프", "밸브", "펌프", "모터", "케이블", "커넥터", "센서", "필터",
		"가스켓", "브라켓", "하우징", "샤프트", "기어", "스프링", "포장재", "라벨", "반도체 모듈", "디스플레이 패널", "배터리 팩", "냉각팬"}
	specs      = []string{"M8x20", "SUS304", "DN50", "220V", "10EA/BOX", "Type-A", "12mm", "AL6061", "IP67", "1/2\"", "3/4\" NPT", "24V DC"}
	asciiNames = []string{"HEX BOLT M8X20 SUS", "BALL BEARING 6204ZZ", "GATE VALVE DN50", "PUMP SEAL KIT", "CABLE 3C 2.5SQ",
		"CONNECTOR RJ45", "FILTER CARTRIDGE 10\"", "GASKET PTFE", "MOTOR 3PH 5.5KW", "SENSOR PT100"}
	notes = []string{"납기 지연 주의", "고객 요청: 오전 배송", "Partial delivery 분할 출하", "세금계산서 발행 완료", "반품 처리 예정",
		"단가 변경 반영", "긴급 출하", "Credit memo for damaged goods", "샘플 무상 제공", "검수 완료 후 청구", "월말 정산",
		"Customer PO 4500012345", "재고 부족으로 부분 청구"}
	// escapes exercise JSON escaping: quotes, backslash, tab and a newline.
	escapes = []string{"규격 \"A\" 타입", "경로 C:\\SAP\\TRANS\\data", "탭\t구분\t값", "He said \"OK\" \\ 확인", "1/2\" 볼트\t10EA",
		"줄바꿈\n다음 줄"}
)

// truncBytes cuts s to at most n bytes at a rune boundary, so the value fits
// VARCHAR2(n BYTE) as well as VARCHAR2(n CHAR).
func truncBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.TrimRight(s[:n], " ")
}

// zeroPad writes v as a decimal number left-padded with zeros to width.
func zeroPad(v uint64, width int) string {
	s := strconv.FormatUint(v, 10)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// appendZeroPad appends v zero-padded to width digits (v must fit).
func appendZeroPad(b []byte, v uint64, width int) []byte {
	n := len(b)
	for i := 0; i < width; i++ {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= n && v > 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// formatDecimal prints mant×10^-scale the way Oracle prints a NUMBER: no
// leading zeros except "0.x", no trailing zeros after the point, no point
// for integers, "0" for zero.
func formatDecimal(neg bool, mant uint64, scale int) string {
	digits := strconv.FormatUint(mant, 10)
	if mant == 0 {
		return "0"
	}
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		ip, fp := digits[:len(digits)-scale], strings.TrimRight(digits[len(digits)-scale:], "0")
		digits = ip
		if fp != "" {
			digits += "." + fp
		}
	}
	if neg {
		return "-" + digits
	}
	return digits
}

var pow10 = func() [20]uint64 {
	var p [20]uint64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// randDigits returns a number with exactly n digits (n ≤ 19; 0 digits is 0).
func (r *rng) randDigits(n int) uint64 {
	if n <= 0 {
		return 0
	}
	if n > 19 {
		n = 19
	}
	lo := pow10[n-1]
	if n == 1 {
		lo = 1
	}
	span := pow10[n-1] * 9 // numbers with n digits
	if n == 19 {
		span = math.MaxUint64 - lo
		if span > 8_000_000_000_000_000_000 {
			span = 8_000_000_000_000_000_000
		}
	}
	return lo + r.next()%span
}

// decimalDraw returns a generator of NUMBER(p,s) values that always fit.
func decimalDraw(name string, p, s int) func(r *rng) any {
	if p == 0 { // plain NUMBER
		p, s = 38, 0
	}
	intMax := p - s // digits allowed before the point
	switch {
	case s == 5 && intMax <= 4: // exchange rates (KURSK, STCUR, AKKUR, KURRF…)
		rates := []float64{1, 1, 1350.4, 1.0842, 0.00074, 1465.2, 9.1731, 0.0068, 189.95}
		return func(r *rng) any {
			v := pick(r, rates) * (1 + (float64(r.intn(2001))-1000)/100000)
			m := uint64(math.Round(v * 1e5))
			if m >= pow10[p] {
				m = pow10[p] - 1
			}
			return formatDecimal(false, m, s)
		}
	case s == 0:
		upper := strings.ToUpper(name)
		switch {
		case strings.Contains(upper, "YEAR") || upper == "GJAHR":
			return func(r *rng) any { return strconv.Itoa(r.between(2019, 2025)) }
		case upper == "UMVKZ" || upper == "UMVKN":
			return func(r *rng) any { return pick(r, []string{"1", "1", "1", "10", "12", "1000"}) }
		case p <= 3:
			return func(r *rng) any { return formatDecimal(false, uint64(r.intn(int(pow10[min(p, 2)]))), 0) }
		case p <= 6: // item-like numbers: 10, 20, … or small counts
			return func(r *rng) any {
				if r.chance(0.7) {
					return strconv.Itoa(10 * r.between(1, 30))
				}
				return strconv.Itoa(r.between(1, int(pow10[p-1])))
			}
		default: // object numbers
			return func(r *rng) any { return formatDecimal(false, r.randDigits(r.between(min(6, p), min(p, 19))), 0) }
		}
	case s == 3: // quantities and weights
		return func(r *rng) any {
			ip := uint64(r.between(1, 999))
			if r.chance(0.1) {
				ip = r.randDigits(min(intMax, 6))
			}
			var frac uint64
			if r.chance(0.3) {
				frac = uint64(r.intn(1000))
			}
			m := ip*1000 + frac
			if m >= pow10[min(p, 19)] {
				m = pow10[min(p, 19)] - 1
			}
			return formatDecimal(r.chance(0.02), m, 3)
		}
	default: // amounts: log-uniform magnitude, a few credits (negative)
		return func(r *rng) any {
			d := r.between(min(1, intMax), min(intMax, 9)) + s
			m := r.randDigits(d)
			if r.chance(0.15) { // round amounts like 1000 or 12.5
				m -= m % pow10[s]
			}
			return formatDecimal(r.chance(0.05), m, s)
		}
	}
}

// dateDraw returns DATE values between 2019 and 2025, mostly at midnight as
// SAP writes them, some with a time of day, a few "valid to" 9999-12-31.
func dateDraw(name string) func(r *rng) any {
	validTo := strings.Contains(name, "VALID_TO") || strings.HasSuffix(name, "_END")
	base := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(r *rng) any {
		if validTo && r.chance(0.3) {
			return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		}
		t := base.AddDate(0, 0, r.intn(7*365))
		if r.chance(0.3) {
			t = t.Add(time.Duration(r.intn(86400)) * time.Second)
		}
		return t
	}
}

// floatDraw returns BINARY_DOUBLE values, some needing all 17 digits.
func floatDraw() func(r *rng) any {
	special := []float64{0, 0.1, 0.30000000000000004, 1.0 / 3, 2.5, -1.25e10, 1e-7, 123456.789, math.Pi, math.MaxFloat64, 5e-324}
	return func(r *rng) any {
		if r.chance(0.3) {
			return pick(r, special)
		}
		return float64(r.next()>>11) / (1 << 53) * math.Pow(10, float64(r.intn(8)))
	}
}

// textDraw returns description texts: Korean mixed with ASCII, some ASCII
// only, and (if escapes) a few strings with quotes, backslashes and tabs.
func textDraw(n int, escapeRate float64) func(r *rng) any {
	return func(r *rng) any {
		var s string
		switch {
		case r.chance(escapeRate):
			s = pick(r, escapes)
		case r.chance(0.25):
			s = pick(r, asciiNames)
		case n >= 60 && r.chance(0.5):
			s = pick(r, notes) + " / " + pick(r, adjectives) + " " + pick(r, nouns) + " " + pick(r, specs)
		case n >= 35 && r.chance(0.3):
			s = pick(r, notes)
		default:
			s = pick(r, adjectives) + " " + pick(r, nouns) + " " + pick(r, specs)
		}
		return truncBytes(s, n)
	}
}

// codeDraw returns one of a few random upper-case codes of up to n characters.
func codeDraw(n int, seed uint64) func(r *rng) any {
	cr := &rng{s: seed}
	codes := make([]string, 4+cr.intn(12))
	numeric := cr.chance(0.5)
	for i := range codes {
		l := n
		if n > 2 && cr.chance(0.3) {
			l = n - 1
		}
		b := make([]byte, l)
		for k := range b {
			if numeric {
				b[k] = byte('0' + cr.intn(10))
			} else {
				b[k] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"[cr.intn(33)]
			}
		}
		codes[i] = string(b)
	}
	return func(r *rng) any { return pick(r, codes) }
}

func listDraw(xs []string) func(r *rng) any { return func(r *rng) any { return pick(r, xs) } }

// mostlySet are the quantities, amounts and rates every billing item has:
// they are rarely zero.
var mostlySet = map[string]bool{
	"FKIMG": true, "FKLMG": true, "LMENG": true, "SMENG": true, "NTGEW": true, "BRGEW": true, "NETWR": true,
	"MWSBP": true, "KZWI1": true, "WAVWR": true, "BRTWR": true, "KURSK": true, "STCUR": true, "UMVKZ": true,
	"UMVKN": true, "ZZ_NETWR_LC": true,
}

// specFor decides how the values of one column look, by SAP column name
// first and by Oracle type otherwise.
func specFor(col pipeline.Column, length int, seed uint64) colSpec {
	name := col.Name
	cr := &rng{s: seed}
	spec := colSpec{bits: 6, nullRate: 0.03}
	if strings.HasPrefix(name, "ZZ_") {
		spec.nullRate = 0.1
	}
	// Most SAP columns are blank (" ") or zero most of the time: real VBRP
	// has most of its NUMBER columns at 0 and most flags empty in most rows.
	// Each column draws its share of blanks from these.
	rarely := []float64{0.05, 0.5, 0.85, 0.97}[cr.intn(4)]
	switch col.Type {
	case pipeline.TypeDateTime:
		spec.bits, spec.draw = 9, dateDraw(name)
		return spec
	case pipeline.TypeFloat:
		spec.bits, spec.draw = 8, floatDraw()
		return spec
	case pipeline.TypeDecimal:
		// NUMBER columns lean further to 0 than other columns.
		zeroRate := []float64{0.05, 0.5, 0.85, 0.97, 0.97, 0.97}[cr.intn(6)]
		spec.bits, spec.blankRate, spec.draw = 9, zeroRate, decimalDraw(name, col.Precision, col.Scale)
		if mostlySet[name] {
			spec.blankRate = 0.02
		}
		if col.Scale == 0 && col.Precision <= 4 {
			spec.bits = 6
		}
		return spec
	}
	n := length
	set := func(bits int, blank float64, draw func(r *rng) any) colSpec {
		spec.bits, spec.blankRate, spec.draw = bits, blank, draw
		return spec
	}
	switch {
	case name == "MANDT":
		return colSpec{bits: 0, draw: func(*rng) any { return "100" }}
	case name == "VRKME" || name == "MEINS":
		return set(5, 0, listDraw(units))
	case name == "GEWEI":
		return set(4, 0, listDraw(weightUnit))
	case name == "VOLEH":
		return set(4, 0.2, listDraw(volumeUnit))
	case strings.HasPrefix(name, "WAERK") || strings.Contains(name, "CUR") && n == 5 || strings.HasSuffix(name, "WAE") || name == "STWAE" || name == "AKWAE":
		return set(5, 0, listDraw(currencies))
	case name == "ALAND" || name == "WKCOU" || strings.HasPrefix(name, "LAND1") || strings.HasPrefix(name, "LLAND"):
		return set(5, 0, listDraw(countries))
	case strings.HasPrefix(name, "REGIO") || name == "WKREG" || name == "J_1AREGIO":
		return set(5, 0.3, listDraw(regions))
	case strings.HasPrefix(name, "INCO1"):
		return set(5, 0.05, listDraw(incoterms))
	case strings.HasPrefix(name, "INCO2"):
		return set(5, 0.2, func(r *rng) any { return truncBytes(pick(r, incoPlaces), n) })
	case name == "MATNR" || name == "MATWA" || name == "PMATN" || name == "UPMAT":
		blank := 0.0
		if name != "MATNR" {
			blank = 0.85
		}
		return set(9, blank, func(r *rng) any { return zeroPad(uint64(10_000_000+r.intn(900_000)), 18) })
	case name == "ARKTX" || strings.HasSuffix(name, "TXT") || strings.Contains(name, "NOTE") || strings.Contains(name, "REMARK") ||
		name == "ABLAD" || name == "BSTNK_VF" || name == "ZUKRI" || name == "BEROT":
		blank := 0.0
		if name != "ARKTX" {
			blank = 0.4
		}
		return set(8, blank, textDraw(n, 0.02))
	case name == "ERNAM" || name == "AENAM" || name == "ZZ_SALESREP":
		return set(5, 0, func(r *rng) any { return truncBytes(pick(r, users), n) })
	case name == "ERZET" || name == "LFUHR" || name == "POTIM":
		return set(8, 0, func(r *rng) any {
			return zeroPad(uint64(r.intn(24)), 2) + zeroPad(uint64(r.intn(60)), 2) + zeroPad(uint64(r.intn(60)), 2)
		})
	case strings.HasPrefix(name, "GJAHR"):
		return set(4, 0, func(r *rng) any { return strconv.Itoa(r.between(2019, 2025)) })
	case strings.HasPrefix(name, "POPER"):
		return set(4, 0, func(r *rng) any { return zeroPad(uint64(r.between(1, 12)), 3) })
	case name == "LFART":
		return set(3, 0, listDraw(delivTypes))
	case strings.HasPrefix(name, "FKART"):
		return set(4, 0, listDraw(billTypes))
	case name == "PSTYV":
		return set(4, 0, listDraw(itemCats))
	case strings.HasPrefix(name, "VKORG") || strings.HasPrefix(name, "BUKRS") || name == "WERKS" || name == "VSTEL" ||
		name == "VKBUR" || name == "KOKRS" || name == "GSBER" || name == "BUPLA":
		return set(4, 0, func(r *rng) any { return truncBytes(pick(r, orgCodes), n) })
	case name == "LOGSYS":
		return set(3, 0.1, listDraw(logSystems))
	case name == "EAN11" || name == "EANNR":
		return set(8, 0.3, func(r *rng) any { return "880" + zeroPad(r.next()%10_000_000_000, 10) })
	case strings.HasPrefix(name, "KUN") || name == "LIFNR" || name == "KNKLI":
		return set(8, 0.02, func(r *rng) any { return zeroPad(uint64(100_000+r.intn(50_000)), 10) })
	case n == 1:
		return set(5, rarely, listDraw([]string{"X", "X", "X", "A", "B", "C", "1", "2"}))
	case n <= 6:
		return set(5, rarely, codeDraw(n, cr.next()))
	case n <= 12:
		w := n
		return set(7, rarely, func(r *rng) any { return zeroPad(uint64(r.intn(int(min(pow10[min(w, 19)]-1, 99_999_999)))), w) })
	case n <= 40:
		prefix := []string{"REF-", "PO", "WBS-", "", "C"}[cr.intn(5)]
		return set(7, rarely, func(r *rng) any {
			return truncBytes(prefix+strconv.Itoa(r.between(2019, 2025))+"-"+zeroPad(uint64(r.intn(1_000_000)), 6), n)
		})
	default:
		return set(8, 0.5, textDraw(n, 0.05))
	}
}
