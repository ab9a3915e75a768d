"""Static vocabularies for the seed: names from many cultures, places, departments, courses.

Names deliberately include apostrophes, accents, non-Latin scripts and
compound surnames (O'Brien, Müller, José, Nguyễn, Łukasz, Kuznetsov in
Cyrillic...) because they break naive CSV, search and sorting code.
"""

# (weight, first names, last names)
NAME_POOLS = [
    (18, ["James", "Olivia", "Emma", "Liam", "Noah", "Ava", "Sophia", "Jack", "Grace", "Ethan", "Ruby",
          "Amelia", "Harry", "Chloe", "Daniel", "Zoe", "Samuel", "Lucy", "Thomas", "Isla"],
     ["Smith", "Johnson", "Williams", "Brown", "Jones", "Taylor", "Wilson", "Moore", "Thomas", "Clarke",
      "Walker", "Hughes", "Edwards", "Turner", "Hill", "Cooper", "Ward", "Baker", "Young", "King"]),
    (6, ["Seán", "Siobhán", "Aoife", "Ciarán", "Niamh", "Pádraig", "Róisín", "Eoin"],
     ["O'Brien", "O'Connor", "O'Neill", "MacCarthy", "O'Sullivan", "Ní Bhriain", "Fitzgerald", "Doyle"]),
    (8, ["Lukas", "Anna", "Jürgen", "Lena", "Felix", "Sophie", "Jörg", "Hannah", "Maximilian", "Lea"],
     ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Schröder", "Becker", "Hoffmann", "Groß", "Köhler"]),
    (7, ["Camille", "Léa", "Hugo", "Chloé", "Théo", "Zoé", "Benoît", "Hélène", "Jérôme", "Anaïs"],
     ["Lefèvre", "Dubois", "Martin", "Bernard", "Moreau", "Girard", "Fournier", "Lemaître", "D'Aubigné", "Rousseau"]),
    (9, ["José", "María", "Lucía", "Javier", "Sofía", "Andrés", "Íñigo", "Camila", "Mateo", "Valentina"],
     ["García", "Martínez", "López", "Núñez", "Rodríguez", "Pérez", "Sánchez", "Gómez", "Fernández", "de la Cruz"]),
    (5, ["Giulia", "Marco", "Chiara", "Luca", "Francesca", "Niccolò", "Alessia", "Matteo"],
     ["Rossi", "Russo", "D'Angelo", "Esposito", "Bianchi", "Romano", "De Luca", "Ricci"]),
    (5, ["Łukasz", "Zofia", "Jakub", "Małgorzata", "Paweł", "Agnieszka", "Wojciech", "Ewa"],
     ["Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kamińska", "Zieliński", "Lewandowska", "Dąbrowski"]),
    (4, ["Åsa", "Björn", "Sigríður", "Søren", "Ingrid", "Mikael", "Frøya", "Lars"],
     ["Sørensen", "Johansson", "Nilsson", "Åberg", "Lindqvist", "Jónsdóttir", "Hansen", "Østergaard"]),
    (4, ["Ayşe", "Mehmet", "Elif", "Mustafa", "Zeynep", "Emre"],
     ["Çelik", "Şahin", "Yılmaz", "Öztürk", "Kaya", "Doğan"]),
    (6, ["Hiroshi", "Yuki", "Kenji", "Aiko", "Sakura", "Takeshi", "Mei", "Ren"],
     ["Tanaka", "Suzuki", "Sato", "Watanabe", "Takahashi", "Yamamoto", "Kobayashi", "Nakamura"]),
    (6, ["Wei", "Li Na", "Jun", "Xiu Ying", "Hao", "Mei Ling", "Zhi", "Yan"],
     ["Wang", "Li", "Zhang", "Liu", "Chen", "Huang", "Zhao", "Wu"]),
    (3, ["Seo-yeon", "Min-jun", "Ji-woo", "Ha-eun", "Do-yun"],
     ["Kim", "Lee", "Park", "Choi", "Jung"]),
    (7, ["Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya"],
     ["Patel", "Sharma", "Singh", "Gupta", "Iyer", "Reddy", "Nair", "Chatterjee"]),
    (5, ["Mohammed", "Fatima", "Omar", "Aisha", "Yusuf", "Layla", "Karim", "Noor"],
     ["Al-Farsi", "Haddad", "Khan", "El-Amin", "Abdullah", "Nasser", "Rahman", "Saleh"]),
    (5, ["Kwame", "Ama", "Chidi", "Ngozi", "Sipho", "Thandiwe", "Oluwaseun", "Zanele"],
     ["Mensah", "Okafor", "Dlamini", "Adeyemi", "Nkosi", "Boateng", "Mokoena", "Eze"]),
    (3, ["Linh", "Minh", "Thảo", "Quang", "Hương"],
     ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"]),
    (2, ["Максим", "Анна", "Дмитрий", "Ольга", "Иван"],
     ["Кузнецов", "Иванова", "Смирнов", "Попова", "Соколов"]),
    (3, ["Dimitris", "Eleni", "Nikos", "Katerina"],
     ["Papadopoulos", "Georgiou", "Nikolaidis", "Konstantinou"]),
    (4, ["Somchai", "Siriporn", "Anan", "Kanya"],
     ["Saelim", "Wongsa", "Srisuk", "Chaiyaporn"]),
]

PLACES = [
    ("London", "GB"), ("Manchester", "GB"), ("Dublin", "IE"), ("Berlin", "DE"), ("Hamburg", "DE"),
    ("Paris", "FR"), ("Lyon", "FR"), ("Madrid", "ES"), ("Sevilla", "ES"), ("Roma", "IT"), ("Kraków", "PL"),
    ("Stockholm", "SE"), ("København", "DK"), ("İstanbul", "TR"), ("Tokyo", "JP"), ("Ōsaka", "JP"),
    ("Shanghai", "CN"), ("Seoul", "KR"), ("Bengaluru", "IN"), ("Mumbai", "IN"), ("Dubai", "AE"),
    ("Accra", "GH"), ("Lagos", "NG"), ("Johannesburg", "ZA"), ("Hà Nội", "VN"), ("Athens", "GR"),
    ("Chiang Mai", "TH"), ("New York", "US"), ("Austin", "US"), ("Toronto", "CA"), ("Montréal", "CA"),
    ("São Paulo", "BR"), ("Ciudad de México", "MX"), ("Sydney", "AU"), ("Auckland", "NZ"),
]

DEPARTMENTS = ["Computer Science", "Electrical Engineering", "Mechanical Engineering", "Business",
               "Finance", "Marketing", "History", "Languages", "Mathematics", "Biology",
               "Human Resources", "IT Services", "Operations", "Library", "Student Services"]

INSTITUTIONS = ["Northbridge University", "Northbridge University", "Northbridge University",
                "Lakeside College", "Northbridge Online"]

JOB_TITLES = ["Student", "Student", "Student", "Student", "Lecturer", "Senior Lecturer", "Professor",
              "Teaching Assistant", "Analyst", "Coordinator", "Manager", "Administrator", "Librarian",
              "Technician", "Assistant"]

CONTRACT_TYPES = ["Not specified", "Full-time", "Part-time", "Contractor", "Student"]

# (idnumber, name, parent idnumber or None, description)
CATEGORIES = [
    ("FAC-ENG", "Faculty of Engineering", None, "Engineering and computer science programmes"),
    ("DEP-CS", "Computer Science", "FAC-ENG", "Programming, data and systems"),
    ("DEP-EE", "Electrical Engineering", "FAC-ENG", "Circuits, signals and power"),
    ("DEP-ME", "Mechanical Engineering", "FAC-ENG", "Mechanics, materials and design"),
    ("FAC-BUS", "Business School", None, "Management, finance and marketing"),
    ("DEP-FIN", "Accounting & Finance", "FAC-BUS", "Accounting, finance and economics"),
    ("DEP-MKT", "Marketing", "FAC-BUS", "Marketing and communication"),
    ("FAC-ART", "Faculty of Arts & Humanities", None, "History, languages and culture"),
    ("DEP-HIS", "History", "FAC-ART", "Modern and ancient history"),
    ("DEP-LANG", "Language Centre", "FAC-ART", "Language courses for students and staff"),
    ("FAC-SCI", "Faculty of Science", None, "Mathematics and life sciences"),
    ("DEP-MATH", "Mathematics", "FAC-SCI", "Pure and applied mathematics"),
    ("DEP-BIO", "Biology", "FAC-SCI", "Cells, organisms and ecosystems"),
    ("STAFF", "Staff Training", None, "Mandatory and optional staff development"),
    ("STAFF-COMP", "Compliance", "STAFF", "Mandatory compliance training"),
    ("STAFF-ONB", "Onboarding", "STAFF", "New staff induction"),
]

# category idnumber -> (shortname prefix, course titles)
COURSE_TITLES = {
    "DEP-CS": ("CS", ["Introduction to Programming", "Data Structures and Algorithms", "Databases",
                      "Operating Systems", "Computer Networks", "Machine Learning", "Software Engineering",
                      "Web Development"]),
    "DEP-EE": ("EE", ["Circuit Analysis", "Signals and Systems", "Power Electronics", "Digital Logic"]),
    "DEP-ME": ("ME", ["Statics", "Thermodynamics", "Fluid Mechanics", "Materials Science"]),
    "DEP-FIN": ("BUS", ["Financial Accounting", "Corporate Finance", "Microeconomics", "Auditing"]),
    "DEP-MKT": ("MKT", ["Principles of Marketing", "Consumer Behaviour", "Digital Marketing"]),
    "DEP-HIS": ("HIS", ["World History since 1900", "Ancient Rome", "History of Science"]),
    "DEP-LANG": ("LANG", ["Academic English (B2)", "Español para principiantes", "Deutsch A1",
                          "Français intermédiaire", "日本語入門"]),
    "DEP-MATH": ("MATH", ["Calculus I", "Linear Algebra", "Probability and Statistics", "Discrete Mathematics"]),
    "DEP-BIO": ("BIO", ["Cell Biology", "Genetics", "Ecology"]),
    "STAFF-COMP": ("SAFE", ["Workplace Health and Safety", "Data Protection (GDPR)", "Fire Safety",
                            "Equality & Diversity"]),
    "STAFF-ONB": ("HR", ["New Staff Onboarding", "Using the LMS", "Manager Essentials"]),
}

SYSTEM_COHORTS = [
    ("COH-STAFF", "All Staff", "Everyone employed by the university"),
    ("COH-STU-2024", "Students 2024", "Student intake 2024"),
    ("COH-STU-2025", "Students 2025", "Student intake 2025"),
    ("COH-STU-2026", "Students 2026", "Student intake 2026"),
]
