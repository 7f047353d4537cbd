-- Impala: the day's driving symptoms per car.
SELECT car_number, speed_p_avg, speed_p_symptom_score, break_p_avg, break_p_symptom_score,
       steer_a_cnt, steer_p_symptom_score
FROM Managed_SmartCar_Symptom_Info
WHERE biz_date = '${working_day}'
ORDER BY car_number
