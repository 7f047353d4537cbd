-- Impala: the day's emergency checks.
SELECT car_number, tire_fl_avg, tire_fr_avg, tire_bl_avg, tire_br_avg, light_fault_cnt, engine_c_cnt,
       break_c_cnt, battery_avg, checks
FROM Managed_SmartCar_Emergency_Check_Info
WHERE biz_date = '${working_day}'
ORDER BY car_number
