package synth

import (
	"strings"

	"github.com/ora2gcs/ora2gcs/pipeline"
)

// Document-level columns. The items of one SAP billing document repeat its
// header's data: billing and pricing dates, sales organisation, channel and
// division, plant, customer numbers, currency and exchange rate, pricing
// procedure, payment terms, the user who created it. In grouped tables
// (VBRP) such columns take their value from the document instead of the row,
// so the items of one document agree on them, as in a real table.

// docLevelNames are VBRP columns that belong to the billing document.
var docLevelNames = map[string]bool{
	"PRSDT": true, "FBUDA": true, "ERDAT": true, "ERZET": true, "ERNAM": true, "KURSK": true, "KURSK_DAT": true,
	"STCUR": true, "AKKUR": true, "KURRF_DAT_ORIG": true, "ABRBG": true, "STADAT": true, "GSBER": true,
	"VSTEL": true, "SPART": true, "WERKS": true, "ALAND": true, "WKREG": true, "WKCOU": true, "WKCTY": true,
	"VKGRP": true, "VKBUR": true, "SPARA": true, "KOKRS": true, "PRCTR": true, "PPRCTR": true, "LOGSYS": true,
	"WAERK": true, "CMPRE_CUR": true, "TXJCD": true, "MWSKZ": true, "BEMOT": true, "ABRVW": true, "AUTYP": true,
	"VGTYP": true, "VGTYP_EX": true, "VGTYP_EXT": true, "KOSTL": true, "PEROP_BEG": true, "PEROP_END": true,
	"KVGR1": true, "KVGR2": true, "KVGR3": true, "KVGR4": true, "KVGR5": true, "KDKG1": true, "KDKG2": true,
	"KDKG3": true, "KDKG4": true, "KDKG5": true, "FONDS": true, "FISTL": true, "FKBER": true, "GRANT_NBR": true,
	"BUDGET_PD": true, "PS_POSID": true, "PS_PSP_PNR": true, "AUFNR": true, "FPLNR": true, "AKTNR": true,
	"KNUMA_PI": true, "KNUMA_AG": true, "DISPUTE_CASE": true, "PARGB": true, "VKAUS": true, "PROSA": true,
	"SITKZ": true, "SPPAYMENT": true, "MSR_ID": true, "RRREL": true, "FAREG": true, "PREFE": true,
	"FMXDOCNR": true, "FMXYEAR": true, "PRS_WORK_PERIOD": true, "WMINR": true, "VGBEL_EX": true,
}

// itemLevelNames are VBRP columns that describe the item itself: material,
// quantities, amounts, units, item category.
var itemLevelNames = map[string]bool{
	"MATNR": true, "ARKTX": true, "PMATN": true, "CHARG": true, "MATKL": true, "PSTYV": true, "PRODH": true,
	"EANNR": true, "EAN11": true, "MATWA": true, "UPMAT": true, "SERNR": true, "KONDM": true, "KTGRM": true,
	"BWTAR": true, "LGORT": true, "MEINS": true, "VRKME": true, "GEWEI": true, "VOLEH": true, "UMVKZ": true,
	"UMVKN": true, "POSAR": true, "POSPA": true, "UEPOS": true, "UECHA": true, "CUOBJ": true, "CUOBJ_CH": true,
	"PAOBJNR": true, "WKTNR": true, "WKTPS": true, "CMPRE_FLT": true, "ABGES": true, "XCHAR": true,
	"MVGR1": true, "MVGR2": true, "MVGR3": true, "MVGR4": true, "MVGR5": true, "WGRU1": true, "WGRU2": true,
	"ZZ_NOTE1": true, "ZZ_NOTE2": true, "ZZ_REMARK": true,
}

// documentLevel reports whether column c of a grouped table takes its value
// from the document. Named columns decide by name; suffixes _AUFT (from the
// sales order) and _ANA (from the billing header) and the J_1A/J_1B tax
// fields are document-level; decimals with a fraction (quantities, amounts)
// are item-level except exchange rates; about a quarter of the remaining
// columns, chosen by a hash of the name, are document-level.
func documentLevel(c pipeline.Column, seed uint64) bool {
	name := c.Name
	switch {
	case docLevelNames[name]:
		return true
	case itemLevelNames[name]:
		return false
	case strings.HasSuffix(name, "_AUFT") || strings.HasSuffix(name, "_ANA") ||
		strings.HasPrefix(name, "J_1A") || strings.HasPrefix(name, "J_1B"):
		return true
	case strings.HasPrefix(name, "ZZ_") && c.Type == pipeline.TypeDateTime:
		return true
	case c.Type == pipeline.TypeDecimal && c.Scale > 0, c.Type == pipeline.TypeFloat:
		return false
	case strings.HasPrefix(name, "TAXM"):
		return false
	}
	return mix64(seed^hashString(name))%4 == 0
}

// sameValue lists groups of columns that always hold the same value in one
// row: the billing date is also the pricing date, the creation date and the
// exchange rate date.
var sameValue = map[string][][]string{
	"VBRP": {{"FBUDA", "PRSDT", "ERDAT", "KURSK_DAT", "KURRF_DAT_ORIG"}},
}
