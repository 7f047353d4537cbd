-- Mart 2: the day's driving records (copied out of SmartCar_Drive_Info into a text partition),
-- joined with adult drivers' master data.
CREATE TABLE IF NOT EXISTS SmartCar_Drive_Info_2 (
  r_key string, r_date string, car_number string, speed_pedal string, break_pedal string,
  steer_angle string, direct_light string, speed string, area_number string)
PARTITIONED BY (wrk_date string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE SmartCar_Drive_Info_2 PARTITION (wrk_date = '${working_day}')
SELECT r_key, r_date, car_number, speed_pedal, break_pedal, steer_angle, direct_light, speed, area_number
FROM SmartCar_Drive_Info
WHERE substring(r_date, 0, 8) = '${working_day}';

CREATE TABLE IF NOT EXISTS Managed_SmartCar_Drive_Info (
  car_number string, sex string, age string, marriage string, region string, job string,
  car_capacity string, car_year string, car_model string,
  r_key string, r_date string, speed_pedal string, break_pedal string, steer_angle string,
  direct_light string, speed string, area_number string)
PARTITIONED BY (biz_date string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE Managed_SmartCar_Drive_Info PARTITION (biz_date = '${working_day}')
SELECT m.car_number, m.sex, m.age, m.marriage, m.region, m.job, m.car_capacity, m.car_year, m.car_model,
       d.r_key, d.r_date, d.speed_pedal, d.break_pedal, d.steer_angle, d.direct_light, d.speed,
       d.area_number
FROM SmartCar_Master_Over18 m
JOIN SmartCar_Drive_Info_2 d ON m.car_number = d.car_number
WHERE d.wrk_date = '${working_day}';
