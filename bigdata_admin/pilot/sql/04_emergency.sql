-- Mart 4: cars needing an emergency check on the day: an average tire pressure below 80, any light
-- fault (2), engine or brake in fault (C), or an average battery below 30. `checks` names the causes.
CREATE TABLE IF NOT EXISTS Managed_SmartCar_Emergency_Check_Info (
  car_number string,
  tire_fl_avg double, tire_fr_avg double, tire_bl_avg double, tire_br_avg double,
  light_fault_cnt bigint, engine_c_cnt bigint, break_c_cnt bigint,
  battery_avg double,
  checks string)
PARTITIONED BY (biz_date string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE Managed_SmartCar_Emergency_Check_Info PARTITION (biz_date = '${working_day}')
SELECT car_number,
       tire_fl_avg, tire_fr_avg, tire_bl_avg, tire_br_avg,
       light_fault_cnt, engine_c_cnt, break_c_cnt,
       battery_avg,
       trim(concat(
         CASE WHEN tire_fl_avg < 80 OR tire_fr_avg < 80 OR tire_bl_avg < 80 OR tire_br_avg < 80
              THEN 'tire ' ELSE '' END,
         CASE WHEN light_fault_cnt > 0 THEN 'light ' ELSE '' END,
         CASE WHEN engine_c_cnt > 0 THEN 'engine ' ELSE '' END,
         CASE WHEN break_c_cnt > 0 THEN 'brake ' ELSE '' END,
         CASE WHEN battery_avg < 30 THEN 'battery' ELSE '' END)) AS checks
FROM (
  SELECT car_number,
         avg(cast(tire_fl AS double)) AS tire_fl_avg,
         avg(cast(tire_fr AS double)) AS tire_fr_avg,
         avg(cast(tire_bl AS double)) AS tire_bl_avg,
         avg(cast(tire_br AS double)) AS tire_br_avg,
         sum(CASE WHEN light_fl = '2' OR light_fr = '2' OR light_bl = '2' OR light_br = '2'
                  THEN 1 ELSE 0 END) AS light_fault_cnt,
         sum(CASE WHEN engine = 'C' THEN 1 ELSE 0 END) AS engine_c_cnt,
         sum(CASE WHEN break = 'C' THEN 1 ELSE 0 END) AS break_c_cnt,
         avg(cast(battery AS double)) AS battery_avg
  FROM Managed_SmartCar_Status_Info
  WHERE biz_date = '${working_day}'
  GROUP BY car_number
) per_car
WHERE tire_fl_avg < 80 OR tire_fr_avg < 80 OR tire_bl_avg < 80 OR tire_br_avg < 80
   OR light_fault_cnt > 0 OR engine_c_cnt > 0 OR break_c_cnt > 0 OR battery_avg < 30;
