-- One database per service (DESIGN §1). The services also create theirs when missing.
CREATE DATABASE xingcun_pairing;
CREATE DATABASE xingcun_monitoring;
CREATE DATABASE xingcun_reporting;
CREATE DATABASE xingcun_notification;
