-- External tables over the collected files, and the master filtered to adult drivers.
-- Parameters: ${pilot_root} (HDFS directory of the pilot, e.g. /pilot-pjt), ${working_day} (yyyyMMdd).
-- Every column is a string, as the book declares them; queries cast numbers explicitly.

CREATE EXTERNAL TABLE IF NOT EXISTS SmartCar_Status_Info (
  reg_date string, car_number string,
  tire_fl string, tire_fr string, tire_bl string, tire_br string,
  light_fl string, light_fr string, light_bl string, light_br string,
  engine string, break string, battery string)
PARTITIONED BY (wrk_date string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION '${pilot_root}/collect/car-batch-log';

ALTER TABLE SmartCar_Status_Info ADD IF NOT EXISTS PARTITION (wrk_date = '${working_day}');

CREATE EXTERNAL TABLE IF NOT EXISTS SmartCar_Master (
  car_number string, sex string, age string, marriage string, region string, job string,
  car_capacity string, car_year string, car_model string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'
STORED AS TEXTFILE
LOCATION '${pilot_root}/collect/car-master';

CREATE EXTERNAL TABLE IF NOT EXISTS SmartCar_Item_BuyList (
  car_number string, item string, score string, month string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE
LOCATION '${pilot_root}/collect/buy-list';

CREATE TABLE IF NOT EXISTS SmartCar_Master_Over18 (
  car_number string, sex string, age string, marriage string, region string, job string,
  car_capacity string, car_year string, car_model string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE SmartCar_Master_Over18
SELECT car_number, sex, age, marriage, region, job, car_capacity, car_year, car_model
FROM SmartCar_Master
WHERE cast(age AS double) >= 18;
