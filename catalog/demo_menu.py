"""The demo menu that `manage.py seed` creates: a small Indonesian food stall.

Plain data, read by `catalog.seeding.menu_seed`. Categories are keyed by slug, products
by SKU. `name` is Indonesian (the text of record, catalog/i18n.py), `name_en` English (a
dish's from `catalog.demo_menu_en`); the descriptions are still the stall's English ones,
kept as written. Each product's `prices` are its price versions in order, as (day, rupiah), where
day counts from the seeding day's midnight (Asia/Jakarta): negative is history, positive
schedules a change. A bundle lists its components as (SKU, quantity); they must come
earlier in `PRODUCTS`.
"""

from catalog.demo_menu_en import DISH_NAMES_EN

BUNDLES_CATEGORY = "bundles"

OPENED = -90  # the stall opened three months before the seeding day
BUNDLES_LAUNCHED = -7  # the set menus came last week, after the last regular price rise

CATEGORIES = [
    {"slug": "rice", "name": "Nasi", "name_en": "Rice Dishes", "position": 10},
    {"slug": "noodles", "name": "Mie", "name_en": "Noodles", "position": 20},
    {"slug": "snacks", "name": "Camilan & Lauk", "name_en": "Snacks & Sides", "position": 30},
    {"slug": "drinks", "name": "Minuman", "name_en": "Drinks", "position": 40},
    {"slug": "desserts", "name": "Pencuci Mulut", "name_en": "Desserts", "position": 50},
    {"slug": BUNDLES_CATEGORY, "name": "Paket", "name_en": "Bundles", "position": 60},
]

PRODUCTS = [
    # --- rice ---
    {
        "sku": "RIC-001",
        "name": "Nasi Goreng Spesial",
        "category": "rice",
        "description": "Wok-fried rice with sweet soy, shallots and chilli, topped with a fried egg, "
        "chicken, prawn crackers and pickles.",
        "stock": 40,
        "prices": [(OPENED, 20_000), (-60, 23_000), (-14, 25_000)],
    },
    {
        "sku": "RIC-002",
        "name": "Nasi Uduk",
        "category": "rice",
        "description": "Betawi rice steamed in coconut milk and lemongrass, with fried chicken, "
        "omelette strips, tempe orek and sambal kacang.",
        "stock": 35,
        "prices": [(OPENED, 22_000)],
    },
    {
        "sku": "RIC-003",
        "name": "Nasi Campur Bali",
        "category": "rice",
        "description": "Steamed rice with ayam betutu, sate lilit, lawar and sambal matah.",
        "stock": 20,
        "prices": [(OPENED, 32_000)],
    },
    {
        "sku": "RIC-004",
        "name": "Nasi Ayam Penyet",
        "category": "rice",
        "description": "Crispy fried chicken smashed into hot sambal terasi, with rice, tofu, tempe "
        "and fresh vegetables.",
        "stock": 30,
        "prices": [(OPENED, 25_000), (-30, 27_000)],
    },
    {
        "sku": "RIC-005",
        "name": "Nasi Rendang",
        "category": "rice",
        "description": "Padang-style beef rendang slow-cooked in coconut and spices, with rice, "
        "cassava leaves and green chilli sambal.",
        "stock": 25,
        "prices": [(OPENED, 35_000)],
    },
    {
        "sku": "RIC-006",
        "name": "Nasi Kuning",
        "category": "rice",
        "description": "Turmeric coconut rice with shredded omelette, fried anchovies and peanuts, "
        "and a sweet beef serundeng.",
        "stock": 30,
        "prices": [(OPENED, 20_000)],
    },
    {
        "sku": "RIC-007",
        "name": "Nasi Liwet Sunda",
        "category": "rice",
        "description": "Savoury rice cooked with salted fish, bay leaves and lemongrass, served "
        "with fried chicken, lalapan and sambal.",
        "stock": 15,
        "prices": [(OPENED, 28_000)],
    },
    # --- noodles ---
    {
        "sku": "NOO-001",
        "name": "Mie Ayam",
        "category": "noodles",
        "description": "Springy egg noodles with soy-braised chicken, bok choy and fried wonton, "
        "with a bowl of broth on the side.",
        "stock": 40,
        "prices": [(OPENED, 18_000)],
    },
    {
        "sku": "NOO-002",
        "name": "Bakmi Goreng",
        "category": "noodles",
        "description": "Fried egg noodles with chicken, cabbage, spring onion and sweet soy, topped "
        "with fried shallots.",
        "stock": 35,
        "prices": [(OPENED, 22_000)],
    },
    {
        "sku": "NOO-003",
        "name": "Mie Goreng Jawa",
        "category": "noodles",
        "description": "Charcoal-fried Javanese noodles with egg, chicken and candlenut spice paste.",
        "stock": 25,
        "prices": [(OPENED, 20_000)],
    },
    {
        "sku": "NOO-004",
        "name": "Kwetiau Siram Sapi",
        "category": "noodles",
        "description": "Seared flat rice noodles under a glossy gravy of beef, mustard greens and egg.",
        "stock": 20,
        "prices": [(OPENED, 28_000)],
    },
    {
        "sku": "NOO-005",
        "name": "Mie Aceh",
        "category": "noodles",
        "description": "Thick yellow noodles in a rich curry-spiced sauce with beef, served with "
        "emping crackers and pickled shallots.",
        "stock": 15,
        "prices": [(OPENED, 30_000)],
    },
    {
        "sku": "NOO-006",
        "name": "Bihun Goreng",
        "category": "noodles",
        "description": "Stir-fried rice vermicelli with egg, vegetables and a touch of chilli.",
        "stock": 30,
        "prices": [(OPENED, 18_000)],
    },
    # --- snacks ---
    {
        "sku": "SNK-001",
        "name": "Sate Ayam",
        "category": "snacks",
        "description": "Ten chargrilled chicken skewers with peanut sauce, sweet soy, shallots and "
        "lontong rice cake.",
        "stock": 30,
        "prices": [(OPENED, 28_000)],
    },
    {
        "sku": "SNK-002",
        "name": "Gado-gado",
        "category": "snacks",
        "description": "Blanched vegetables, tofu, tempe, egg and potato under a warm peanut "
        "dressing, with krupuk.",
        "stock": 25,
        "prices": [(OPENED, 20_000)],
    },
    {
        "sku": "SNK-003",
        "name": "Siomay Bandung",
        "category": "snacks",
        "description": "Steamed fish dumplings with cabbage, potato, tofu and egg in peanut sauce.",
        "stock": 25,
        "prices": [(OPENED, 20_000)],
    },
    {
        "sku": "SNK-004",
        "name": "Pempek Kapal Selam",
        "category": "snacks",
        "description": "Palembang fish cake filled with a whole egg, fried and served with sweet-sour "
        "cuko sauce and noodles.",
        "stock": 20,
        "prices": [(OPENED, 25_000)],
    },
    {
        "sku": "SNK-005",
        "name": "Tahu Isi",
        "category": "snacks",
        "description": "Five battered tofu pockets stuffed with vegetables, with green bird's-eye chillies.",
        "stock": 40,
        "prices": [(OPENED, 12_000)],
    },
    {
        "sku": "SNK-006",
        "name": "Pisang Goreng",
        "category": "snacks",
        "description": "Five pieces of crisp battered banana, fried to order.",
        "stock": 50,
        "prices": [(OPENED, 12_000)],
    },
    {
        "sku": "SNK-007",
        "name": "Lumpia Semarang",
        "category": "snacks",
        "description": "Three spring rolls filled with bamboo shoots, egg and prawn, with a sweet "
        "garlic dipping sauce.",
        "stock": 30,
        "prices": [(OPENED, 15_000)],
    },
    # --- drinks ---
    {
        "sku": "DRK-001",
        "name": "Es Teh Manis",
        "category": "drinks",
        "description": "Iced sweet jasmine tea.",
        "stock": 100,
        "prices": [(OPENED, 5_000), (7, 6_000)],
    },
    {
        "sku": "DRK-002",
        "name": "Es Jeruk",
        "category": "drinks",
        "description": "Freshly squeezed iced orange juice.",
        "stock": 60,
        "prices": [(OPENED, 8_000)],
    },
    {
        "sku": "DRK-003",
        "name": "Es Cendol",
        "category": "drinks",
        "description": "Pandan rice-flour jellies in coconut milk and palm sugar syrup over shaved ice.",
        "stock": 40,
        "prices": [(OPENED, 12_000)],
    },
    {
        "sku": "DRK-004",
        "name": "Es Kelapa Muda",
        "category": "drinks",
        "description": "Young coconut water with tender coconut flesh, over ice.",
        "stock": 30,
        "prices": [(OPENED, 15_000)],
    },
    {
        "sku": "DRK-005",
        "name": "Kopi Tubruk",
        "category": "drinks",
        "description": "Strong unfiltered Javanese coffee brewed with sugar.",
        "stock": 60,
        "prices": [(OPENED, 8_000)],
    },
    {
        "sku": "DRK-006",
        "name": "Es Kopi Susu Gula Aren",
        "category": "drinks",
        "description": "Iced espresso with fresh milk and palm sugar.",
        "stock": 50,
        "prices": [(OPENED, 18_000), (14, 20_000)],
    },
    {
        "sku": "DRK-007",
        "name": "Teh Tarik",
        "category": "drinks",
        "description": "Black tea pulled with condensed milk until frothy; hot or iced.",
        "stock": 50,
        "prices": [(OPENED, 10_000)],
    },
    {
        "sku": "DRK-008",
        "name": "Air Mineral 600 ml",
        "category": "drinks",
        "description": "Chilled still mineral water, 600 ml bottle.",
        "stock": 120,
        "prices": [(OPENED, 4_000)],
    },
    # --- desserts ---
    {
        "sku": "DSR-001",
        "name": "Klepon",
        "category": "desserts",
        "description": "Five pandan glutinous rice balls filled with molten palm sugar, rolled in "
        "grated coconut.",
        "stock": 40,
        "prices": [(OPENED, 10_000)],
    },
    {
        "sku": "DSR-002",
        "name": "Martabak Manis",
        "category": "desserts",
        "description": "Thick sweet pancake filled with chocolate sprinkles, cheese and condensed "
        "milk; a whole one, cut in eight.",
        "stock": 15,
        "prices": [(OPENED, 40_000), (-45, 45_000)],
    },
    {
        "sku": "DSR-003",
        "name": "Es Campur",
        "category": "desserts",
        "description": "Shaved ice with jackfruit, avocado, grass jelly, coconut and red syrup.",
        "stock": 30,
        "prices": [(OPENED, 15_000)],
    },
    {
        "sku": "DSR-004",
        "name": "Lapis Legit",
        "category": "desserts",
        "description": "Two slices of spiced thousand-layer butter cake.",
        "stock": 20,
        "prices": [(OPENED, 15_000)],
    },
    {
        "sku": "DSR-005",
        "name": "Dadar Gulung",
        "category": "desserts",
        "description": "Three pandan crepes rolled around sweet coconut and palm sugar.",
        "stock": 30,
        "prices": [(OPENED, 10_000)],
    },
    {
        "sku": "DSR-006",
        "name": "Bubur Sumsum",
        "category": "desserts",
        "description": "Silky rice-flour porridge with coconut milk and warm palm sugar syrup.",
        "stock": 25,
        "prices": [(OPENED, 12_000)],
    },
    {
        "sku": "DSR-007",
        "name": "Es Pisang Ijo",
        "category": "desserts",
        "description": "Banana wrapped in green pandan dough, with rice porridge, syrup and "
        "coconut milk over ice.",
        "stock": 20,
        "prices": [(OPENED, 15_000)],
    },
    # --- bundles: each below the sum of its parts' prices, including scheduled rises ---
    {
        "sku": "BDL-001",
        "name": "Paket Hemat Nasi Goreng",
        "category": BUNDLES_CATEGORY,
        "kind": "bundle",
        "description": "Nasi Goreng Spesial with an Es Teh Manis.",
        "components": [("RIC-001", 1), ("DRK-001", 1)],
        "prices": [(BUNDLES_LAUNCHED, 27_000)],
    },
    {
        "sku": "BDL-002",
        "name": "Paket Sate Lengkap",
        "category": BUNDLES_CATEGORY,
        "kind": "bundle",
        "description": "Sate Ayam with Nasi Uduk and an Es Jeruk.",
        "components": [("SNK-001", 1), ("RIC-002", 1), ("DRK-002", 1)],
        "prices": [(BUNDLES_LAUNCHED, 52_000)],
    },
    {
        "sku": "BDL-003",
        "name": "Paket Mie Berdua",
        "category": BUNDLES_CATEGORY,
        "kind": "bundle",
        "description": "Two Mie Ayam, two Es Teh Manis and a plate of Pisang Goreng to share.",
        "components": [("NOO-001", 2), ("DRK-001", 2), ("SNK-006", 1)],
        "prices": [(BUNDLES_LAUNCHED, 50_000)],
    },
    {
        "sku": "BDL-004",
        "name": "Paket Keluarga",
        "category": BUNDLES_CATEGORY,
        "kind": "bundle",
        "description": "For four: two Nasi Goreng Spesial, two Bakmi Goreng, Sate Ayam, four Es Teh "
        "Manis and a Martabak Manis.",
        "components": [("RIC-001", 2), ("NOO-002", 2), ("SNK-001", 1), ("DRK-001", 4), ("DSR-002", 1)],
        "prices": [(BUNDLES_LAUNCHED, 165_000)],
    },
    {
        "sku": "BDL-005",
        "name": "Paket Takjil",
        "category": BUNDLES_CATEGORY,
        "kind": "bundle",
        "description": "Something sweet to break the fast: Es Cendol, Klepon and Pisang Goreng.",
        "components": [("DRK-003", 1), ("DSR-001", 1), ("SNK-006", 1)],
        "prices": [(BUNDLES_LAUNCHED, 30_000)],
    },
]

for _dish in PRODUCTS:
    _dish["name_en"] = DISH_NAMES_EN[_dish["sku"]]
