"""The words callers use for kinds of place and before the names of fields and areas."""

# Prepositions a caller puts before a field or area name ("im Gorn", "auf Gapfahl"); streets keep theirs.
LOCATIVES = {"im", "in", "auf", "am", "an", "bei", "beim", "zum", "zur", "uf", "ufm", "ob"}
# What callers call a place by its kind, in German and English.
CATEGORY_WORDS = {
    "hospital": "hospital",
    "spital": "hospital",
    "krankenhaus": "hospital",
    "landesspital": "hospital",
    "feuerwehr": "fire_station",
    "feuerwehrdepot": "fire_station",
    "firestation": "fire_station",
    "polizei": "police",
    "police": "police",
    "polizeistation": "police",
    "policestation": "police",
    "kirche": "place_of_worship",
    "church": "place_of_worship",
    "kapelle": "place_of_worship",
    "chapel": "place_of_worship",
    "rathaus": "townhall",
    "townhall": "townhall",
    "gemeindehaus": "townhall",
    "gemeindeverwaltung": "townhall",
    "schule": "school",
    "school": "school",
    "primarschule": "school",
    "post": "post_office",
    "postoffice": "post_office",
    "bank": "bank",
    "apotheke": "pharmacy",
    "pharmacy": "pharmacy",
    "hotel": "hotel",
    "museum": "museum",
    "bahnhof": "station",
}
TWO_WORD_CATEGORIES = {
    ("fire", "station"): "firestation",
    ("police", "station"): "policestation",
    ("town", "hall"): "townhall",
    ("post", "office"): "postoffice",
}
