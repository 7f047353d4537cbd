-- Mart 1: adult drivers' master data joined with the day's status records.
CREATE TABLE IF NOT EXISTS Managed_SmartCar_Status_Info (
  car_number string, sex string, age string, marriage string, region string, job string,
  car_capacity string, car_year string, car_model string,
  reg_date string,
  tire_fl string, tire_fr string, tire_bl string, tire_br string,
  light_fl string, light_fr string, light_bl string, light_br string,
  engine string, break string, battery string)
PARTITIONED BY (biz_date string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE Managed_SmartCar_Status_Info PARTITION (biz_date = '${working_day}')
SELECT m.car_number, m.sex, m.age, m.marriage, m.region, m.job, m.car_capacity, m.car_year, m.car_model,
       s.reg_date,
       s.tire_fl, s.tire_fr, s.tire_bl, s.tire_br,
       s.light_fl, s.light_fr, s.light_bl, s.light_br,
       s.engine, s.break, s.battery
FROM SmartCar_Master_Over18 m
JOIN SmartCar_Status_Info s ON m.car_number = s.car_number
WHERE s.wrk_date = '${working_day}'
  AND substring(s.reg_date, 0, 8) = '${working_day}';
