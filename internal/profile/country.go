package profile

import (
	"strings"
	"sync"
)

// CountryCode maps a country as a client might send it to its ISO-3166-1
// alpha-2 code: an alpha-2 or alpha-3 code in any case, or an English name
// (ISO short name or a common one: "United States", "united kingdom",
// "South Korea", "Ivory Coast"), ignoring case, accents, punctuation and a
// leading "the". ok is false when nothing matches; Braze then stores null.
// Kosovo's user-assigned XK is included, as most systems do.
func CountryCode(s string) (code string, ok bool) {
	code, ok = countryIndex()[normName(s)]
	return code, ok
}

// countries is one country a line: alpha-2, alpha-3, then names separated
// by "|", the ISO short name first.
const countries = `AD AND Andorra
AE ARE United Arab Emirates|UAE|Emirates
AF AFG Afghanistan
AG ATG Antigua and Barbuda|Antigua
AI AIA Anguilla
AL ALB Albania
AM ARM Armenia
AO AGO Angola
AQ ATA Antarctica
AR ARG Argentina
AS ASM American Samoa
AT AUT Austria
AU AUS Australia
AW ABW Aruba
AX ALA Åland Islands|Aland
AZ AZE Azerbaijan
BA BIH Bosnia and Herzegovina|Bosnia|Bosnia Herzegovina
BB BRB Barbados
BD BGD Bangladesh
BE BEL Belgium
BF BFA Burkina Faso
BG BGR Bulgaria
BH BHR Bahrain
BI BDI Burundi
BJ BEN Benin
BL BLM Saint Barthélemy|Saint Barts|Saint Barths
BM BMU Bermuda
BN BRN Brunei Darussalam|Brunei
BO BOL Bolivia (Plurinational State of)|Bolivia|Plurinational State of Bolivia
BQ BES Bonaire, Sint Eustatius and Saba|Caribbean Netherlands|Bonaire
BR BRA Brazil|Brasil
BS BHS Bahamas
BT BTN Bhutan
BV BVT Bouvet Island
BW BWA Botswana
BY BLR Belarus
BZ BLZ Belize
CA CAN Canada
CC CCK Cocos (Keeling) Islands|Cocos Islands|Keeling Islands
CD COD Congo, Democratic Republic of the|Democratic Republic of the Congo|DR Congo|DRC|Congo-Kinshasa|Congo Kinshasa|Zaire
CF CAF Central African Republic
CG COG Congo|Republic of the Congo|Congo-Brazzaville|Congo Brazzaville|Congo, Republic of the
CH CHE Switzerland
CI CIV Côte d'Ivoire|Ivory Coast
CK COK Cook Islands
CL CHL Chile
CM CMR Cameroon
CN CHN China|People's Republic of China|PRC|Mainland China
CO COL Colombia
CR CRI Costa Rica
CU CUB Cuba
CV CPV Cabo Verde|Cape Verde
CW CUW Curaçao
CX CXR Christmas Island
CY CYP Cyprus
CZ CZE Czechia|Czech Republic
DE DEU Germany|Deutschland
DJ DJI Djibouti
DK DNK Denmark
DM DMA Dominica
DO DOM Dominican Republic
DZ DZA Algeria
EC ECU Ecuador
EE EST Estonia
EG EGY Egypt
EH ESH Western Sahara
ER ERI Eritrea
ES ESP Spain|España
ET ETH Ethiopia
FI FIN Finland
FJ FJI Fiji
FK FLK Falkland Islands (Malvinas)|Falkland Islands|Falklands|Malvinas
FM FSM Micronesia (Federated States of)|Micronesia|Federated States of Micronesia
FO FRO Faroe Islands|Faroes
FR FRA France
GA GAB Gabon
GB GBR United Kingdom of Great Britain and Northern Ireland|United Kingdom|UK|U.K.|Great Britain|Britain|England|Scotland|Wales|Northern Ireland
GD GRD Grenada
GE GEO Georgia
GF GUF French Guiana
GG GGY Guernsey
GH GHA Ghana
GI GIB Gibraltar
GL GRL Greenland
GM GMB Gambia
GN GIN Guinea
GP GLP Guadeloupe
GQ GNQ Equatorial Guinea
GR GRC Greece
GS SGS South Georgia and the South Sandwich Islands|South Georgia
GT GTM Guatemala
GU GUM Guam
GW GNB Guinea-Bissau
GY GUY Guyana
HK HKG Hong Kong|Hong Kong SAR|Hong Kong SAR China
HM HMD Heard Island and McDonald Islands
HN HND Honduras
HR HRV Croatia
HT HTI Haiti
HU HUN Hungary
ID IDN Indonesia
IE IRL Ireland|Republic of Ireland|Eire
IL ISR Israel
IM IMN Isle of Man
IN IND India
IO IOT British Indian Ocean Territory
IQ IRQ Iraq
IR IRN Iran (Islamic Republic of)|Iran|Islamic Republic of Iran
IS ISL Iceland
IT ITA Italy|Italia
JE JEY Jersey
JM JAM Jamaica
JO JOR Jordan
JP JPN Japan
KE KEN Kenya
KG KGZ Kyrgyzstan
KH KHM Cambodia
KI KIR Kiribati
KM COM Comoros
KN KNA Saint Kitts and Nevis
KP PRK Korea (Democratic People's Republic of)|North Korea|Democratic People's Republic of Korea|DPRK
KR KOR Korea, Republic of|South Korea|Korea|Republic of Korea
KW KWT Kuwait
KY CYM Cayman Islands
KZ KAZ Kazakhstan
LA LAO Lao People's Democratic Republic|Laos|Lao PDR
LB LBN Lebanon
LC LCA Saint Lucia
LI LIE Liechtenstein
LK LKA Sri Lanka
LR LBR Liberia
LS LSO Lesotho
LT LTU Lithuania
LU LUX Luxembourg
LV LVA Latvia
LY LBY Libya
MA MAR Morocco
MC MCO Monaco
MD MDA Moldova, Republic of|Moldova|Republic of Moldova
ME MNE Montenegro
MF MAF Saint Martin (French part)|Saint Martin
MG MDG Madagascar
MH MHL Marshall Islands
MK MKD North Macedonia|Macedonia
ML MLI Mali
MM MMR Myanmar|Burma
MN MNG Mongolia
MO MAC Macao|Macau|Macao SAR China
MP MNP Northern Mariana Islands
MQ MTQ Martinique
MR MRT Mauritania
MS MSR Montserrat
MT MLT Malta
MU MUS Mauritius
MV MDV Maldives
MW MWI Malawi
MX MEX Mexico|México
MY MYS Malaysia
MZ MOZ Mozambique
NA NAM Namibia
NC NCL New Caledonia
NE NER Niger
NF NFK Norfolk Island
NG NGA Nigeria
NI NIC Nicaragua
NL NLD Netherlands|Holland|Kingdom of the Netherlands
NO NOR Norway
NP NPL Nepal
NR NRU Nauru
NU NIU Niue
NZ NZL New Zealand
OM OMN Oman
PA PAN Panama
PE PER Peru
PF PYF French Polynesia
PG PNG Papua New Guinea
PH PHL Philippines
PK PAK Pakistan
PL POL Poland
PM SPM Saint Pierre and Miquelon
PN PCN Pitcairn|Pitcairn Islands
PR PRI Puerto Rico
PS PSE Palestine, State of|Palestine|State of Palestine|Palestinian Territories
PT PRT Portugal
PW PLW Palau
PY PRY Paraguay
QA QAT Qatar
RE REU Réunion
RO ROU Romania
RS SRB Serbia
RU RUS Russian Federation|Russia
RW RWA Rwanda
SA SAU Saudi Arabia
SB SLB Solomon Islands
SC SYC Seychelles
SD SDN Sudan
SE SWE Sweden
SG SGP Singapore
SH SHN Saint Helena, Ascension and Tristan da Cunha|Saint Helena
SI SVN Slovenia
SJ SJM Svalbard and Jan Mayen
SK SVK Slovakia|Slovak Republic
SL SLE Sierra Leone
SM SMR San Marino
SN SEN Senegal
SO SOM Somalia
SR SUR Suriname
SS SSD South Sudan
ST STP Sao Tome and Principe|São Tomé and Príncipe
SV SLV El Salvador
SX SXM Sint Maarten (Dutch part)|Sint Maarten
SY SYR Syrian Arab Republic|Syria
SZ SWZ Eswatini|Swaziland
TC TCA Turks and Caicos Islands
TD TCD Chad
TF ATF French Southern Territories
TG TGO Togo
TH THA Thailand
TJ TJK Tajikistan
TK TKL Tokelau
TL TLS Timor-Leste|East Timor
TM TKM Turkmenistan
TN TUN Tunisia
TO TON Tonga
TR TUR Türkiye|Turkey|Turkiye
TT TTO Trinidad and Tobago
TV TUV Tuvalu
TW TWN Taiwan|Taiwan, Province of China
TZ TZA Tanzania, United Republic of|Tanzania|United Republic of Tanzania
UA UKR Ukraine
UG UGA Uganda
UM UMI United States Minor Outlying Islands
US USA United States of America|United States|U.S.|U.S.A.|US of A|America
UY URY Uruguay
UZ UZB Uzbekistan
VA VAT Holy See|Vatican|Vatican City|Vatican City State
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela (Bolivarian Republic of)|Venezuela|Bolivarian Republic of Venezuela
VG VGB Virgin Islands (British)|British Virgin Islands
VI VIR Virgin Islands (U.S.)|US Virgin Islands|U.S. Virgin Islands|United States Virgin Islands
VN VNM Viet Nam|Vietnam
VU VUT Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa
XK XKX Kosovo
YE YEM Yemen
YT MYT Mayotte
ZA ZAF South Africa
ZM ZMB Zambia
ZW ZWE Zimbabwe`

var countryIndex = sync.OnceValue(func() map[string]string {
	m, _ := buildCountryIndex()
	return m
})

// buildCountryIndex returns the lookup table and the keys that more than
// one country claimed (a test keeps that list empty).
func buildCountryIndex() (map[string]string, []string) {
	m := make(map[string]string, 800)
	var clashes []string
	put := func(k, code string) {
		if prev, ok := m[k]; ok && prev != code {
			clashes = append(clashes, k)
			return
		}
		m[k] = code
	}
	for line := range strings.Lines(countries) {
		alpha2, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		alpha3, names, _ := strings.Cut(rest, " ")
		put(strings.ToLower(alpha2), alpha2)
		put(strings.ToLower(alpha3), alpha2)
		for name := range strings.SplitSeq(names, "|") {
			put(normName(name), alpha2)
		}
	}
	return m, clashes
}

// normName folds a name for lookup: lower case, accents dropped, "&" read
// as "and", apostrophes and dots dropped ("Côte d'Ivoire" → "cote divoire",
// "U.S." → "us"), other punctuation as spaces, "st" read as "saint", and a
// leading "the" removed.
func normName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	gap := false
	word := func(w string) {
		if gap && b.Len() > 0 {
			b.WriteByte(' ')
		}
		gap = false
		b.WriteString(w)
	}
	for _, r := range strings.ToLower(s) {
		r = foldAccent(r)
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			if gap && b.Len() > 0 {
				b.WriteByte(' ')
			}
			gap = false
			b.WriteRune(r)
		case r == '&':
			gap = true
			word("and")
			gap = true
		case r == '\'' || r == '.' || r == '’':
		default:
			gap = true
		}
	}
	out := strings.TrimPrefix(b.String(), "the ")
	if strings.HasPrefix(out, "st ") {
		out = "saint " + out[3:]
	}
	return out
}

func foldAccent(r rune) rune {
	switch r {
	case 'á', 'à', 'â', 'ä', 'ã', 'å':
		return 'a'
	case 'ç':
		return 'c'
	case 'é', 'è', 'ê', 'ë':
		return 'e'
	case 'í', 'ì', 'î', 'ï':
		return 'i'
	case 'ñ':
		return 'n'
	case 'ó', 'ò', 'ô', 'ö', 'õ', 'ø':
		return 'o'
	case 'ú', 'ù', 'û', 'ü':
		return 'u'
	case 'ý', 'ÿ':
		return 'y'
	}
	return r
}
