"""SQL schema of the sandbox store: a subset of Moodle's tables with Moodle's names.

Ids autoincrement like Moodle's sequences (site course 1, guest 1, admin 2).  Unique
constraints are named indexes so the seed can drop them for bulk loading and
rebuild them afterwards.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS config (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS context (
    id INTEGER PRIMARY KEY, contextlevel INTEGER NOT NULL, instanceid INTEGER NOT NULL,
    path TEXT, depth INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS context_level_instance ON context(contextlevel, instanceid);
CREATE TABLE IF NOT EXISTS user (
    id INTEGER PRIMARY KEY, auth TEXT NOT NULL DEFAULT 'manual', confirmed INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0, suspended INTEGER NOT NULL DEFAULT 0,
    username TEXT NOT NULL, password TEXT NOT NULL DEFAULT '', idnumber TEXT NOT NULL DEFAULT '',
    firstname TEXT NOT NULL DEFAULT '', lastname TEXT NOT NULL DEFAULT '', email TEXT NOT NULL DEFAULT '',
    phone1 TEXT NOT NULL DEFAULT '', phone2 TEXT NOT NULL DEFAULT '', institution TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', city TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '', lang TEXT NOT NULL DEFAULT 'en', calendartype TEXT NOT NULL DEFAULT 'gregorian',
    theme TEXT NOT NULL DEFAULT '', timezone TEXT NOT NULL DEFAULT '99', firstaccess INTEGER NOT NULL DEFAULT 0,
    lastaccess INTEGER NOT NULL DEFAULT 0, lastlogin INTEGER NOT NULL DEFAULT 0,
    description TEXT, descriptionformat INTEGER NOT NULL DEFAULT 1, mailformat INTEGER NOT NULL DEFAULT 1,
    maildisplay INTEGER NOT NULL DEFAULT 2, trackforums INTEGER NOT NULL DEFAULT 0,
    middlename TEXT NOT NULL DEFAULT '', alternatename TEXT NOT NULL DEFAULT '',
    firstnamephonetic TEXT NOT NULL DEFAULT '', lastnamephonetic TEXT NOT NULL DEFAULT '',
    timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS user_username ON user(username);
CREATE INDEX IF NOT EXISTS user_email ON user(email COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS user_lastname ON user(lastname COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS user_firstname ON user(firstname COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS user_idnumber ON user(idnumber);
CREATE INDEX IF NOT EXISTS user_auth ON user(auth);
CREATE TABLE IF NOT EXISTS user_info_field (
    id INTEGER PRIMARY KEY, shortname TEXT NOT NULL, name TEXT NOT NULL, datatype TEXT NOT NULL,
    sortorder INTEGER NOT NULL, param1 TEXT, defaultdata TEXT, visible INTEGER NOT NULL DEFAULT 2);
CREATE TABLE IF NOT EXISTS user_info_data (
    id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, fieldid INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS user_preferences (
    id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS role (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', shortname TEXT NOT NULL, sortorder INTEGER NOT NULL,
    archetype TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS course_categories (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, idnumber TEXT, description TEXT, descriptionformat INTEGER DEFAULT 1,
    parent INTEGER NOT NULL DEFAULT 0, sortorder INTEGER NOT NULL DEFAULT 0, coursecount INTEGER NOT NULL DEFAULT 0,
    visible INTEGER NOT NULL DEFAULT 1, visibleold INTEGER NOT NULL DEFAULT 1, timemodified INTEGER NOT NULL DEFAULT 0,
    depth INTEGER NOT NULL DEFAULT 1, path TEXT NOT NULL DEFAULT '', theme TEXT);
CREATE TABLE IF NOT EXISTS course (
    id INTEGER PRIMARY KEY, category INTEGER NOT NULL, sortorder INTEGER NOT NULL DEFAULT 0,
    fullname TEXT NOT NULL, shortname TEXT NOT NULL, idnumber TEXT NOT NULL DEFAULT '', summary TEXT,
    summaryformat INTEGER NOT NULL DEFAULT 1, format TEXT NOT NULL DEFAULT 'topics',
    showgrades INTEGER NOT NULL DEFAULT 1, newsitems INTEGER NOT NULL DEFAULT 0, startdate INTEGER NOT NULL DEFAULT 0,
    enddate INTEGER NOT NULL DEFAULT 0, marker INTEGER NOT NULL DEFAULT 0, maxbytes INTEGER NOT NULL DEFAULT 0,
    legacyfiles INTEGER NOT NULL DEFAULT 0, showreports INTEGER NOT NULL DEFAULT 0, visible INTEGER NOT NULL DEFAULT 1,
    visibleold INTEGER NOT NULL DEFAULT 1, groupmode INTEGER NOT NULL DEFAULT 0, groupmodeforce INTEGER NOT NULL DEFAULT 0,
    defaultgroupingid INTEGER NOT NULL DEFAULT 0, lang TEXT NOT NULL DEFAULT '', calendartype TEXT NOT NULL DEFAULT '',
    theme TEXT NOT NULL DEFAULT '', timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0,
    requested INTEGER NOT NULL DEFAULT 0, enablecompletion INTEGER NOT NULL DEFAULT 0,
    completionnotify INTEGER NOT NULL DEFAULT 0, cacherev INTEGER NOT NULL DEFAULT 0,
    hiddensections INTEGER NOT NULL DEFAULT 1, coursedisplay INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS course_shortname ON course(shortname);
CREATE INDEX IF NOT EXISTS course_category ON course(category);
CREATE INDEX IF NOT EXISTS course_idnumber ON course(idnumber);
CREATE TABLE IF NOT EXISTS course_sections (
    id INTEGER PRIMARY KEY, course INTEGER NOT NULL, section INTEGER NOT NULL, name TEXT,
    summary TEXT NOT NULL DEFAULT '', summaryformat INTEGER NOT NULL DEFAULT 1, sequence TEXT NOT NULL DEFAULT '',
    visible INTEGER NOT NULL DEFAULT 1, availability TEXT, component TEXT, itemid INTEGER,
    timemodified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS course_sections_course ON course_sections(course, section);
CREATE TABLE IF NOT EXISTS modules (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS course_modules (
    id INTEGER PRIMARY KEY, course INTEGER NOT NULL, module INTEGER NOT NULL, modname TEXT NOT NULL,
    instance INTEGER NOT NULL, section INTEGER NOT NULL, idnumber TEXT NOT NULL DEFAULT '',
    added INTEGER NOT NULL DEFAULT 0, visible INTEGER NOT NULL DEFAULT 1, visibleoncoursepage INTEGER NOT NULL DEFAULT 1,
    visibleold INTEGER NOT NULL DEFAULT 1, groupmode INTEGER NOT NULL DEFAULT 0, indent INTEGER NOT NULL DEFAULT 0,
    completion INTEGER NOT NULL DEFAULT 0, availability TEXT, deletioninprogress INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS course_modules_course ON course_modules(course);
CREATE INDEX IF NOT EXISTS course_modules_section ON course_modules(section);
CREATE TABLE IF NOT EXISTS modinstance (
    modname TEXT NOT NULL, id INTEGER NOT NULL, course INTEGER NOT NULL, name TEXT NOT NULL, intro TEXT,
    introformat INTEGER NOT NULL DEFAULT 1, timemodified INTEGER NOT NULL DEFAULT 0, extra TEXT,
    PRIMARY KEY (modname, id));
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, contenthash TEXT NOT NULL, contextid INTEGER NOT NULL, component TEXT NOT NULL,
    filearea TEXT NOT NULL, itemid INTEGER NOT NULL, filepath TEXT NOT NULL, filename TEXT NOT NULL,
    userid INTEGER, filesize INTEGER NOT NULL, mimetype TEXT, source TEXT, author TEXT, license TEXT,
    sortorder INTEGER NOT NULL DEFAULT 0, timecreated INTEGER NOT NULL, timemodified INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS files_path ON files(contextid, component, filearea, itemid, filepath, filename);
CREATE INDEX IF NOT EXISTS files_item ON files(component, filearea, itemid);
CREATE TABLE IF NOT EXISTS cohort (
    id INTEGER PRIMARY KEY, contextid INTEGER NOT NULL, name TEXT NOT NULL, idnumber TEXT,
    description TEXT, descriptionformat INTEGER NOT NULL DEFAULT 1, visible INTEGER NOT NULL DEFAULT 1,
    component TEXT NOT NULL DEFAULT '', theme TEXT NOT NULL DEFAULT '', timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS cohort_members (
    id INTEGER PRIMARY KEY, cohortid INTEGER NOT NULL, userid INTEGER NOT NULL, timeadded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS cohort_members_user ON cohort_members(userid);
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL, idnumber TEXT NOT NULL DEFAULT '', name TEXT NOT NULL,
    description TEXT, descriptionformat INTEGER NOT NULL DEFAULT 1, enrolmentkey TEXT,
    visibility INTEGER NOT NULL DEFAULT 0, participation INTEGER NOT NULL DEFAULT 1,
    timecreated INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS groups_course ON groups(courseid);
CREATE TABLE IF NOT EXISTS groups_members (
    id INTEGER PRIMARY KEY, groupid INTEGER NOT NULL, userid INTEGER NOT NULL, timeadded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS groups_members_user ON groups_members(userid);
CREATE TABLE IF NOT EXISTS groupings (
    id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL, name TEXT NOT NULL, idnumber TEXT NOT NULL DEFAULT '',
    description TEXT, descriptionformat INTEGER NOT NULL DEFAULT 1, timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS groupings_course ON groupings(courseid);
CREATE TABLE IF NOT EXISTS groupings_groups (
    id INTEGER PRIMARY KEY, groupingid INTEGER NOT NULL, groupid INTEGER NOT NULL, timeadded INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS enrol (
    id INTEGER PRIMARY KEY, enrol TEXT NOT NULL, status INTEGER NOT NULL DEFAULT 0, courseid INTEGER NOT NULL,
    sortorder INTEGER NOT NULL DEFAULT 0, roleid INTEGER NOT NULL DEFAULT 5, name TEXT,
    customint1 INTEGER, timecreated INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS enrol_course ON enrol(courseid);
CREATE TABLE IF NOT EXISTS user_enrolments (
    id INTEGER PRIMARY KEY, status INTEGER NOT NULL DEFAULT 0, enrolid INTEGER NOT NULL, userid INTEGER NOT NULL,
    timestart INTEGER NOT NULL DEFAULT 0, timeend INTEGER NOT NULL DEFAULT 0, timecreated INTEGER NOT NULL DEFAULT 0,
    timemodified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS user_enrolments_enrolid ON user_enrolments(enrolid);
CREATE TABLE IF NOT EXISTS role_assignments (
    id INTEGER PRIMARY KEY, roleid INTEGER NOT NULL, contextid INTEGER NOT NULL, userid INTEGER NOT NULL,
    component TEXT NOT NULL DEFAULT '', itemid INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS role_assignments_ctx ON role_assignments(contextid, userid);
CREATE TABLE IF NOT EXISTS user_lastaccess (
    id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, courseid INTEGER NOT NULL, timeaccess INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS course_completion_criteria (
    id INTEGER PRIMARY KEY, course INTEGER NOT NULL, criteriatype INTEGER NOT NULL, module TEXT,
    moduleinstance INTEGER);
CREATE INDEX IF NOT EXISTS course_completion_criteria_course ON course_completion_criteria(course);
CREATE TABLE IF NOT EXISTS course_completions (
    id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, course INTEGER NOT NULL, timeenrolled INTEGER NOT NULL DEFAULT 0,
    timestarted INTEGER NOT NULL DEFAULT 0, timecompleted INTEGER);
CREATE TABLE IF NOT EXISTS course_modules_completion (
    id INTEGER PRIMARY KEY, coursemoduleid INTEGER NOT NULL, userid INTEGER NOT NULL,
    completionstate INTEGER NOT NULL, overrideby INTEGER, timemodified INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS grade_items (
    id INTEGER PRIMARY KEY, courseid INTEGER NOT NULL, categoryid INTEGER, itemname TEXT, itemtype TEXT NOT NULL,
    itemmodule TEXT, iteminstance INTEGER, itemnumber INTEGER, idnumber TEXT, grademin REAL NOT NULL DEFAULT 0,
    grademax REAL NOT NULL DEFAULT 100, sortorder INTEGER NOT NULL DEFAULT 0, cmid INTEGER);
CREATE INDEX IF NOT EXISTS grade_items_course ON grade_items(courseid);
CREATE TABLE IF NOT EXISTS grade_grades (
    id INTEGER PRIMARY KEY, itemid INTEGER NOT NULL, userid INTEGER NOT NULL, finalgrade REAL,
    timemodified INTEGER);
CREATE TABLE IF NOT EXISTS external_services (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, shortname TEXT, enabled INTEGER NOT NULL DEFAULT 1,
    restrictedusers INTEGER NOT NULL DEFAULT 0, uploadfiles INTEGER NOT NULL DEFAULT 1,
    downloadfiles INTEGER NOT NULL DEFAULT 1, timecreated INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS external_services_functions (
    id INTEGER PRIMARY KEY, externalserviceid INTEGER NOT NULL, functionname TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS external_tokens (
    id INTEGER PRIMARY KEY, token TEXT NOT NULL, privatetoken TEXT, userid INTEGER NOT NULL,
    externalserviceid INTEGER NOT NULL, validuntil INTEGER NOT NULL DEFAULT 0, timecreated INTEGER NOT NULL DEFAULT 0,
    lastaccess INTEGER NOT NULL DEFAULT 0, name TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS user_info_data_userid_fieldid_uq ON user_info_data(userid, fieldid);
CREATE UNIQUE INDEX IF NOT EXISTS user_preferences_userid_name_uq ON user_preferences(userid, name);
CREATE UNIQUE INDEX IF NOT EXISTS cohort_members_cohortid_userid_uq ON cohort_members(cohortid, userid);
CREATE UNIQUE INDEX IF NOT EXISTS groups_members_groupid_userid_uq ON groups_members(groupid, userid);
CREATE UNIQUE INDEX IF NOT EXISTS groupings_groups_groupingid_groupid_uq ON groupings_groups(groupingid, groupid);
CREATE UNIQUE INDEX IF NOT EXISTS user_enrolments_userid_enrolid_uq ON user_enrolments(userid, enrolid);
CREATE UNIQUE INDEX IF NOT EXISTS user_lastaccess_userid_courseid_uq ON user_lastaccess(userid, courseid);
CREATE UNIQUE INDEX IF NOT EXISTS course_completions_userid_course_uq ON course_completions(userid, course);
CREATE UNIQUE INDEX IF NOT EXISTS course_modules_completion_userid_coursemoduleid_uq ON course_modules_completion(userid, coursemoduleid);
CREATE UNIQUE INDEX IF NOT EXISTS grade_grades_userid_itemid_uq ON grade_grades(userid, itemid);
CREATE UNIQUE INDEX IF NOT EXISTS external_services_functions_externalserviceid_functionname_uq ON external_services_functions(externalserviceid, functionname);
CREATE UNIQUE INDEX IF NOT EXISTS external_tokens_token_uq ON external_tokens(token);
"""
