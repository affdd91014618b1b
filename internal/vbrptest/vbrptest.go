// Package vbrptest generates rows shaped like SAP VBRP (274 columns of
// codes, blank CHAR fields, decimals, dates and Hangul text) for the tests
// and benchmarks of the encoder and the compressors. It is deterministic:
// the same n gives the same rows.
package vbrptest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// vbrpShape is the 274 columns of SAP VBRP as NAME:TYPE, where Vn is
// VARCHAR2(n), Np.s is NUMBER(p,s), D is DATE and F is BINARY_DOUBLE.
const vbrpShape = `
	MANDT:V3 VBELN:V10 POSNR:N6 UEPOS:N6 FKIMG:N13.3 VRKME:V3 UMVKZ:N5 UMVKN:N5 MEINS:V3 SMENG:N13.3 FKLMG:N13.3
	LMENG:N13.3 NTGEW:N15.3 BRGEW:N15.3 GEWEI:V3 VOLUM:N15.3 VOLEH:V3 GSBER:V4 PRSDT:D FBUDA:D KURSK:N9.5
	NETWR:N15.2 VBELV:V10 POSNV:N6 VGBEL:V10 VGPOS:N6 VGTYP:V1 AUBEL:V10 AUPOS:N6 AUREF:V1 MATNR:V40 ARKTX:V40
	PMATN:V40 CHARG:V10 MATKL:V9 PSTYV:V4 POSAR:V1 PRODH:V18 VSTEL:V4 ATPKZ:V1 SPART:V2 POSPA:V2 WERKS:V4 ALAND:V3
	WKREG:V3 WKCOU:V3 WKCTY:V4 TAXM1:V1 TAXM2:V1 TAXM3:V1 TAXM4:V1 TAXM5:V1 TAXM6:V1 TAXM7:V1 TAXM8:V1 TAXM9:V1
	KOWRR:V1 PRSFD:V1 SKTOF:V1 SKFBP:N13.2 KONDM:V2 KTGRM:V2 KOSTL:V10 BONUS:V2 PROVG:V2 EANNR:V13 VKGRP:V3
	VKBUR:V4 SPARA:V2 SHKZG:V1 ERNAM:V12 ERDAT:D ERZET:V6 BWTAR:V10 LGORT:V4 STAFO:V6 WAVWR:N13.2 KZWI1:N13.2
	KZWI2:N13.2 KZWI3:N13.2 KZWI4:N13.2 KZWI5:N13.2 KZWI6:N13.2 STCUR:N9.5 UVPRS:V1 UVALL:V1 EAN11:V18 PRCTR:V10
	KVGR1:V3 KVGR2:V3 KVGR3:V3 KVGR4:V3 KVGR5:V3 MVGR1:V3 MVGR2:V3 MVGR3:V3 MVGR4:V3 MVGR5:V3 MATWA:V40
	BONBA:N13.2 KOKRS:V4 PAOBJNR:N10 PS_PSP_PNR:N10 AUFNR:V12 TXJCD:V15 CMPRE:N11.2 CMPNT:V1 CUOBJ:N19
	CUOBJ_CH:N19 KOUPD:V1 UECHA:N6 XCHAR:V1 ABRVW:V3 SERNR:V8 BZIRK_AUFT:V6 KDGRP_AUFT:V2 KONDA_AUFT:V2
	LLAND_AUFT:V3 MPROK:V1 PLTYP_AUFT:V2 REGIO_AUFT:V3 VKORG_AUFT:V4 VTWEG_AUFT:V2 ABRBG:D PROSA:V1 UEPVW:V1
	AUTYP:V1 STADAT:D FPLNR:V10 FPLTR:N6 AKTNR:V10 KNUMA_PI:V10 KNUMA_AG:V10 PREFE:V1 MWSBP:N13.2 AUGRU_AUFT:V3
	FAREG:V1 UPMAT:V40 UKONM:V2 CMPRE_FLT:F ABFOR:V2 ABGES:F J_1ARFZ:V1 J_1AREGIO:V3 J_1AGICD:V2 J_1ADTYP:V2
	J_1ATXREL:V10 J_1BCFOP:V10 J_1BTAXLW1:V3 J_1BTAXLW2:V3 J_1BTAXLW3:V3 J_1BTAXLW4:V3 J_1BTAXLW5:V3 J_1BTXSDC:V2
	BRTWR:N15.2 WKTNR:V10 WKTPS:N6 RPLNR:V10 KURSK_DAT:D WGRU1:V18 WGRU2:V18 KDKG1:V2 KDKG2:V2 KDKG3:V2 KDKG4:V2
	KDKG5:V2 VKAUS:V3 J_1AINDXP:V5 J_1AIDATEP:D BEMOT:V2 RRREL:V1 AKKUR:N9.5 WMINR:V10 VGBEL_EX:V10 VGPOS_EX:N6
	LOGSYS:V10 VGTYP_EX:V1 MSR_ID:V10 MSR_REFUND_CODE:V3 MSR_RET_REASON:V3 NRAB_KNUMH:V10 NRAB_VALUE:N13.2
	DISPUTE_CASE:V32 FUND_USAGE_ITEM:V32 FARR_RELTYPE:V1 CLAIMS_TAXATION:V1 KURRF_DAT_ORIG:D VGTYP_EXT:V4
	SGT_RCAT:V16 SGT_SCAT:V16 FONDS:V10 FISTL:V16 FKBER:V16 GRANT_NBR:V20 BUDGET_PD:V10 PRS_WORK_PERIOD:V10
	PPRCTR:V10 PARGB:V4 AUFPL:N10 APLZL:N10 DPCNR:V10 DCPNR:N6 DPNRB:V10 PEROP_BEG:D PEROP_END:D FMXDOCNR:V10
	FMXYEAR:N4 FMXDOCLN:N3 FMXZEKKN:N2 MWSKZ:V2 VERTN:V13 VERTT:V1 ANLN1:V12 ANLN2:V4 SPCSTO:V1 SPPAYMENT:V2
	KZFME:V1 PS_POSID:V24 SITKZ:V1 CMPRE_CUR:V5 WAERK:V5 FKART_ANA:V4 VBTYP_ANA:V4 KUNAG_ANA:V10 KUNRG_ANA:V10
	KUNWE_ANA:V10 KUNRE_ANA:V10 BUKRS_ANA:V4 GJAHR_ANA:V4 POPER_ANA:V3 RFBSK_ANA:V1 SFAKN_ANA:V10 ZTERM_ANA:V4
	INCO1_ANA:V3 INCO2_ANA:V28 LAND1_ANA:V3 XBLNR_ANA:V16 ZUONR_ANA:V18 ZZ_NETWR_LC:N23.2 ZZ_REBATE_AMT:N15.2
	ZZ_FREIGHT_AMT:N15.2 ZZ_INS_AMT:N15.2 ZZ_DUTY_AMT:N15.2 ZZ_DISC_AMT:N15.2 ZZ_TAX_AMT:N15.2 ZZ_GROSS_AMT:N15.2
	ZZ_COST_AMT:N15.2 ZZ_MARGIN_AMT:N15.2 ZZ_PACK_QTY:N13.3 ZZ_BASE_QTY:N13.3 ZZ_RETURN_QTY:N13.3 ZZ_VALID_FROM:D
	ZZ_VALID_TO:D ZZ_SHIP_DATE:D ZZ_DUE_DATE:D ZZ_CHANGED_ON:D ZZ_CUST_REF:V35 ZZ_REMARK:V255 ZZ_PROJECT:V24
	ZZ_REGION:V3 ZZ_CHANNEL:V2 ZZ_SALESREP:V12 ZZ_LEGACY_ID:V20 ZZ_SOURCE:V4 ZZ_FLAG1:V1 ZZ_FLAG2:V1 ZZ_FLAG3:V1
	ZZ_FLAG4:V1 ZZ_FLAG5:V1 ZZ_CAT1:V4 ZZ_CAT2:V4 ZZ_CAT3:V4 ZZ_NOTE1:V40 ZZ_NOTE2:V40
`

// Row returns VBRP's columns and one row of realistic values: short
// codes, many blank CHAR fields (" "), decimal amounts, dates, Hangul text.
func Row() ([]pipeline.Column, []any) {
	fields := strings.Fields(vbrpShape)
	cols := make([]pipeline.Column, len(fields))
	row := make([]any, len(fields))
	date := time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)
	for i, f := range fields {
		name, typ, _ := strings.Cut(f, ":")
		c := pipeline.Column{Name: name}
		switch typ[0] {
		case 'V':
			n, _ := strconv.Atoi(typ[1:])
			c.Type = pipeline.TypeString
			switch {
			case n >= 40 && i%2 == 0:
				row[i] = "품목 " + strconv.Itoa(i)
			case i%5 < 3:
				row[i] = " "
			default:
				row[i] = strings.Repeat(string(rune('A'+i%26)), min(n, 1+i%4))
			}
		case 'N':
			c.Type = pipeline.TypeDecimal
			p, s, _ := strings.Cut(typ[1:], ".")
			c.Precision, _ = strconv.Atoi(p)
			c.Scale, _ = strconv.Atoi(s)
			if c.Scale > 0 {
				row[i] = strconv.Itoa(i*37) + "." + strings.Repeat("5", min(c.Scale, 2))
			} else {
				row[i] = strconv.Itoa(10 * i)
			}
		case 'D':
			c.Type = pipeline.TypeDateTime
			row[i] = date.AddDate(0, 0, i)
		case 'F':
			c.Type = pipeline.TypeFloat
			row[i] = 1.0 / float64(i)
		}
		cols[i] = c
	}
	return cols, row
}

// Rows returns n VBRP rows that vary like real data (document numbers,
// codes from small vocabularies, amounts, dates), deterministically.
func Rows(n int) ([]pipeline.Column, [][]any) {
	cols, proto := Row()
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, n)
	for r := range rows {
		row := slices.Clone(proto)
		for i, v := range row {
			switch v := v.(type) {
			case string:
				if v != " " && rng.IntN(8) == 0 {
					row[i] = v[:len(v)/2] + strconv.Itoa(rng.IntN(50))
				}
			case time.Time:
				row[i] = v.AddDate(0, 0, rng.IntN(365))
			case float64:
				row[i] = rng.Float64() * 100
			}
			if cols[i].Type == pipeline.TypeDecimal && rng.IntN(3) == 0 {
				row[i] = strconv.Itoa(rng.IntN(100000)) + ".25"
			}
		}
		row[1] = fmt.Sprintf("%010d", 90000000+r/8) // VBELN
		row[2] = strconv.Itoa(10 * (r%8 + 1))       // POSNR
		rows[r] = row
	}
	return cols, rows
}
